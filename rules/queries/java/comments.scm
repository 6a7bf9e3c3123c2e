; Comments, for the gates that judge comment text (debt markers, self-admitted stubs).
; @comment is a whole comment, delimiters included.
; Line comments and block comments, Javadoc included.
(line_comment) @comment
(block_comment) @comment
