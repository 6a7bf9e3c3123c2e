; Definitions the wire gate checks: methods (`def x`, `def self.x`, setters `def x=`),
; classes and modules. Ruby calls many methods by symbol (`send(:x)`,
; `before_action :x`): a symbol is an identifier token, so it counts as a reference.
(method
  name: [(identifier) (constant)] @name) @definition.method

(method
  name: (setter
    name: (identifier) @name)) @definition.method

(singleton_method
  name: [(identifier) (constant)] @name) @definition.method

(class
  name: (constant) @name) @definition.class

(module
  name: (constant) @name) @definition.class
