; Definitions the wire gate checks: function definitions (with a body). Prototypes in
; headers are not definitions: they are occurrences of the name, so a function
; declared in a header counts as referenced (the header is its export list).
(function_definition
  declarator: [
    (function_declarator
      declarator: (identifier) @name)
    (pointer_declarator
      declarator: (function_declarator
        declarator: (identifier) @name))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator
          declarator: (identifier) @name)))
  ]) @definition.function
