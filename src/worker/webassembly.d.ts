// The part of the WebAssembly JS API the wasm runtime uses. Node provides the global at run time, but the
// project's lib (es2024, no DOM) declares none of it, and pulling in the DOM lib for this would let
// browser globals type-check in node code.
declare global {
  namespace WebAssembly {
    class Module {}
    class Instance {
      readonly exports: Record<string, unknown>;
    }
    class Memory {
      constructor(descriptor: { initial: number; maximum?: number });
      readonly buffer: ArrayBuffer;
      grow(deltaPages: number): number;
    }
    type Imports = Record<string, Record<string, unknown>>;
    function validate(bytes: Uint8Array): boolean;
    function compile(bytes: Uint8Array): Promise<Module>;
    function instantiate(module: Module, imports?: Imports): Promise<Instance>;
  }
}
export {};
