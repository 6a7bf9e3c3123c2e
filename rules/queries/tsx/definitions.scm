; Definitions the wire gate checks: functions, class methods and classes.
; Signatures (overload heads, interface members, `declare` forms) are not definitions:
; they are occurrences of the name, so they count as references to the body.
(function_declaration
  name: (identifier) @name) @definition.function

(generator_function_declaration
  name: (identifier) @name) @definition.function

(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(class_declaration
  name: (type_identifier) @name) @definition.class

(abstract_class_declaration
  name: (type_identifier) @name) @definition.class

(class_body
  (method_definition
    name: [(property_identifier) (private_property_identifier)] @name) @definition.method)
