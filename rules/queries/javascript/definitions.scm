; Definitions the wire gate checks: functions, class methods and classes.
; Methods of object literals are not captured: frameworks call them by convention
; (Vue's `mounted()`, options objects) and they are reached through the object anyway.
(function_declaration
  name: (identifier) @name) @definition.function

(generator_function_declaration
  name: (identifier) @name) @definition.function

(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(class_declaration
  name: (identifier) @name) @definition.class

(class_body
  (method_definition
    name: [(property_identifier) (private_property_identifier)] @name) @definition.method)
