; Stand-in bodies, for the stub gate (convergio_gate/gates/stub.py).
;   @function   the function or method; its name, decorators, modifiers and enclosing
;               class decide the exemptions (abstract, overload, override, constructor)
;   @body       the body, judged as a whole: besides comments (and a Python docstring)
;               it may hold nothing but the captured stand-in
;   @empty      a body that does nothing (rule empty-body): the body itself when it is
;               empty, or its only statement (`pass`, `...`)
;   @raise      the only statement raises "not implemented" (rule not-implemented);
;               @type is what it raises (or the macro), @message its arguments
;   @anywhere   a stand-in wherever it stands, not only as the whole body
; Patterns only find candidates; stub.py checks the whole body and the exemptions.
; Function literals are not judged: an empty callback is usually deliberate.

(function_declaration
  body: (block "{" . (comment)* . "}") @body @empty) @function
(method_declaration
  body: (block "{" . (comment)* . "}") @body @empty) @function

; panic("not implemented") / panic("TODO") / panic(fmt.Sprintf("TODO: %s", x))
(function_declaration
  body: (block
    (statement_list
      (expression_statement
        (call_expression
          function: (identifier) @type
          arguments: (argument_list) @message
          (#eq? @type "panic"))) @raise)) @body) @function
(method_declaration
  body: (block
    (statement_list
      (expression_statement
        (call_expression
          function: (identifier) @type
          arguments: (argument_list) @message
          (#eq? @type "panic"))) @raise)) @body) @function
