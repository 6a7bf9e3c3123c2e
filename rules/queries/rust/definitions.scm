; Definitions the wire gate checks: functions, methods (in impl and trait blocks),
; structs, enums, unions and traits. Trait method signatures without a body are not
; definitions: they are occurrences of the name.
(function_item
  name: (identifier) @name) @definition.function

(impl_item
  body: (declaration_list
    (function_item
      name: (identifier) @name) @definition.method))

(trait_item
  body: (declaration_list
    (function_item
      name: (identifier) @name) @definition.method))

(struct_item
  name: (type_identifier) @name) @definition.class

(enum_item
  name: (type_identifier) @name) @definition.class

(union_item
  name: (type_identifier) @name) @definition.class

(trait_item
  name: (type_identifier) @name) @definition.class
