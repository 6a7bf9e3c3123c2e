; Definitions the wire gate checks: shell functions. A call is a command word with the
; function's name, which the reference index sees as an identifier token.
(function_definition
  name: (word) @name) @definition.function
