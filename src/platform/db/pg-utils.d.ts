/** node-postgres's parameter conversion (not in @types/pg): the PGlite dialect sends parameters as pg does. */
declare module 'pg/lib/utils.js' {
  const utils: { prepareValue(value: unknown): unknown };
  export default utils;
}
