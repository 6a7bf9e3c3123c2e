; Docstrings, for the stub gate's comment rules (admitted-stub, fake-result): in Python
; the text that documents code is a string, and "this is just a placeholder" there is an
; admission as much as in a comment. Other strings are not docstrings.
(module . (comment)* . (expression_statement (string) @docstring))
(class_definition
  body: (block . (comment)* . (expression_statement (string) @docstring)))
(function_definition
  body: (block . (comment)* . (expression_statement (string) @docstring)))
