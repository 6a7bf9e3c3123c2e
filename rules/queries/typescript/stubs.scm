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

; Function declarations, methods, const-bound function expressions and test callbacks
; (`it("...", () => {})`); stub.py tells them apart by @function's type.
(_
  body: (statement_block "{" . (comment)* . "}") @body @empty) @function

; throw new Error("not implemented") / throw new NotImplementedError()
(_
  body: (statement_block
    (throw_statement
      [(new_expression constructor: (_) @type arguments: (arguments)? @message)
       (call_expression function: (_) @type arguments: (arguments) @message)]) @raise) @body) @function
