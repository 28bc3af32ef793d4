// The part of the reflect-metadata API that tsyringe (a dependency of
// @peculiar/x509) checks for at load time. The reflect-metadata package is
// not among tests/interop's installed modules; this shim keeps metadata in
// a WeakMap per target (and property), walking the prototype chain for the
// non-own getters, which is all @peculiar/x509's decorators need.
const store = new WeakMap();
function table(target, prop, create) {
  let byProp = store.get(target);
  if (!byProp) { if (!create) return undefined; byProp = new Map(); store.set(target, byProp); }
  let t = byProp.get(prop);
  if (!t) { if (!create) return undefined; t = new Map(); byProp.set(prop, t); }
  return t;
}
if (typeof Reflect.getMetadata !== 'function') {
  Object.assign(Reflect, {
    defineMetadata(key, value, target, prop) { table(target, prop, true).set(key, value); },
    getOwnMetadata(key, target, prop) { return table(target, prop, false)?.get(key); },
    hasOwnMetadata(key, target, prop) { return table(target, prop, false)?.has(key) ?? false; },
    getMetadata(key, target, prop) {
      for (let t = target; t; t = Object.getPrototypeOf(t)) {
        const m = table(t, prop, false);
        if (m?.has(key)) return m.get(key);
      }
      return undefined;
    },
    hasMetadata(key, target, prop) { return Reflect.getMetadata(key, target, prop) !== undefined; },
    metadata(key, value) {
      return (target, prop) => Reflect.defineMetadata(key, value, target, prop);
    },
  });
}
