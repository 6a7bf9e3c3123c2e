; Comments, for the gates that judge comment text (debt markers, self-admitted stubs).
; @comment is a whole comment, delimiters included.
; Line comments (// and the /// and //! doc comments) and block comments.
(line_comment) @comment
(block_comment) @comment
