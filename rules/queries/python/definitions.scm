; Definitions the wire gate checks: functions, methods and classes.
; @name is the defined name; @definition.<kind> is the whole definition (its span is
; where the name's own occurrences do not count as references). Whether a function is
; a method is decided from the enclosing class, so one pattern serves both.
(function_definition
  name: (identifier) @name) @definition.function

(class_definition
  name: (identifier) @name) @definition.class
