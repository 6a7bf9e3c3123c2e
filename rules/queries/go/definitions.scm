; Definitions the wire gate checks: functions, methods and struct/interface types.
; Interface method specs are not definitions: they are occurrences of the method name,
; so a method that satisfies an interface of the repository counts as referenced.
(function_declaration
  name: (identifier) @name) @definition.function

(method_declaration
  name: (field_identifier) @name) @definition.method

(type_spec
  name: (type_identifier) @name
  type: [(struct_type) (interface_type)]) @definition.class
