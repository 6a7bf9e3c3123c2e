; Classes, for the stub gate (convergio_gate/gates/stub.py): a method that a subclass in
; the same file overrides, or that overrides a method of a base class in the same file,
; is a default or abstract method, not a stub. @class is each class; stub.py reads its
; name, its bases and the methods its body defines.

[(class_declaration) (abstract_class_declaration) (class)] @class
