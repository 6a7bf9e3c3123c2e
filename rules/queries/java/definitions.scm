; Definitions the wire gate checks: methods with a body, and classes, interfaces,
; enums and records. Constructors are not checked (`new Foo()` names the class), and
; abstract or interface methods without a body are occurrences of the name, not
; definitions.
(method_declaration
  name: (identifier) @name
  body: (block)) @definition.method

(class_declaration
  name: (identifier) @name) @definition.class

(interface_declaration
  name: (identifier) @name) @definition.class

(enum_declaration
  name: (identifier) @name) @definition.class

(record_declaration
  name: (identifier) @name) @definition.class
