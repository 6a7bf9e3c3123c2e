; Comments, for the gates that judge comment text (debt markers, self-admitted stubs).
; @comment is a whole comment, delimiters included.
(comment) @comment
