; Definitions the wire gate checks: functions, methods (in the class body or out of
; it as `Class::name`) and classes/structs with a body. Constructors, destructors and
; operators are not captured (their names are not plain identifiers, or they are the
; class's own name); in-class declarations are occurrences, not definitions.
(function_definition
  declarator: [
    (function_declarator
      declarator: [(identifier) (field_identifier)] @name)
    (pointer_declarator
      declarator: (function_declarator
        declarator: [(identifier) (field_identifier)] @name))
    (reference_declarator
      (function_declarator
        declarator: [(identifier) (field_identifier)] @name))
  ]) @definition.function

(function_definition
  declarator: [
    (function_declarator
      declarator: (qualified_identifier
        name: (identifier) @name))
    (pointer_declarator
      declarator: (function_declarator
        declarator: (qualified_identifier
          name: (identifier) @name)))
    (reference_declarator
      (function_declarator
        declarator: (qualified_identifier
          name: (identifier) @name)))
  ]) @definition.method

(class_specifier
  name: (type_identifier) @name
  body: (field_declaration_list)) @definition.class

(struct_specifier
  name: (type_identifier) @name
  body: (field_declaration_list)) @definition.class
