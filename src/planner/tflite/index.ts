/** TFLite flatbuffers: the bounds-checked reader (the interpreter's input) and schema enums. */
export * from './reader.js';
export { FbView, FbTable } from './fb-safe.js';
