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
; A function in a trait without a body is a declaration (function_signature_item), not
; a function_item, so it never matches.

(function_item
  body: (block "{" . [(line_comment) (block_comment)]* . "}") @body @empty) @function

; unimplemented!() as the whole body, with or without a semicolon (todo!() is caught
; anywhere, below).
(function_item
  body: (block
    [(macro_invocation macro: (identifier) @type)
     (expression_statement (macro_invocation macro: (identifier) @type))] @raise
    (#eq? @type "unimplemented")) @body) @function

; todo!() anywhere: "this is not written yet", in the language's own words.
((macro_invocation macro: (identifier) @type) @anywhere
  (#eq? @type "todo"))
