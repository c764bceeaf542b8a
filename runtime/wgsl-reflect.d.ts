// wgsl_reflect's "main" is a CommonJS file in a "type": "module" package, which Node cannot load
// as ESM; its ES module build has the same API and these types.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
