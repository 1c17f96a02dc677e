/** hls.js's light build (no alternate renditions, subtitles or DRM) has the full build's API; the package types only the full one. */
declare module 'hls.js/light' {
  export * from 'hls.js';
  export { default } from 'hls.js';
}
