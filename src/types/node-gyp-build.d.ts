declare module 'node-gyp-build' {
  /** Loads the addon of the package rooted at `dir`, preferring prebuilds. */
  function load(dir: string): unknown;
  export default load;
}
