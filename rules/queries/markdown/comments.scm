; Comments, for the gates that judge comment text (debt markers, self-admitted stubs).
; A Markdown comment is an HTML comment, <!-- ... -->. The block grammar does not
; split HTML into nodes, so @html names a node whose text is searched for HTML
; comments, and @html.inline a paragraph's text, searched the same way once its code
; spans (`...`) are blanked out. Fenced and indented code blocks are examples, not
; the document's own comments, so they are not captured.
(html_block) @html
(inline) @html.inline
