; Comments, for the gates that judge comment text (debt markers, self-admitted stubs).
; @comment is a whole comment, delimiters included: <!-- ... -->. Only comments in the
; document's content count: the grammar also lexes `<!--` inside a quoted attribute
; value as a comment, and that is text.
(document (comment) @comment)
(element (comment) @comment)

; The code of an inline <script> is JavaScript: its comments are comments too.
; @injection.<language> is parsed with that language's grammar and comments query.
(script_element
  (raw_text) @injection.javascript)
