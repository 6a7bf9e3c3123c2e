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
; A prototype or a pure virtual (`= 0`) is a declaration, and `= default` / `= delete`
; have no compound body, so none of them matches.

(function_definition
  body: (compound_statement "{" . (comment)* . "}") @body @empty) @function

; throw std::logic_error("not implemented");
(function_definition
  body: (compound_statement
    (throw_statement
      [(call_expression function: (_) @type arguments: (argument_list) @message)
       (compound_literal_expression type: (_) @type value: (initializer_list) @message)]) @raise) @body) @function
