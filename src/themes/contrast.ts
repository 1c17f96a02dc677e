/**
 * WCAG 2 contrast of theme colors (https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio). Imports
 * nothing: the theme API, the talk page renderer and the dashboard's theme editor all use it.
 */

/** The talk page's own colors (web/src/shared/theme.css): what a theme without a color shows. */
export const DEFAULT_THEME_COLORS = { background: '#0f172a', text: '#f8fafc', accent: '#38bdf8', surface: '#1e293b' };

/** The least contrast text must have against what it is written on (WCAG AA, normal text). */
export const MIN_TEXT_CONTRAST = 4.5;

/** #rgb, #rgba, #rrggbb or #rrggbbaa to [r, g, b] in 0..255 (alpha ignored); null if not hex. */
export function parseHex(hex: string): [number, number, number] | null {
  const m = /^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i.exec(hex.trim());
  if (!m) return null;
  let h = m[1] as string;
  if (h.length <= 4) h = [...h].map((c) => c + c).join('');
  return [0, 2, 4].map((i) => Number.parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
}

/** Relative luminance of an sRGB color. */
export function luminance([r, g, b]: [number, number, number]): number {
  const lin = (v: number) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** The contrast ratio of two colors (1 to 21), or null if either is not a hex color. */
export function contrast(a: string, b: string): number | null {
  const x = parseHex(a);
  const y = parseHex(b);
  if (!x || !y) return null;
  const [hi, lo] = [luminance(x), luminance(y)].sort((m, n) => n - m) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Text on the accent color (its buttons): near-black or white, whichever contrasts more (always >= 4.58). */
export function textOn(background: string): string {
  const dark = '#0f172a';
  const light = '#ffffff';
  return (contrast(dark, background) ?? 0) >= (contrast(light, background) ?? 0) ? dark : light;
}

export interface ContrastProblem {
  /** The color that should change (`colors.text`). */
  field: string;
  ratio: number;
  message: string;
}

/**
 * The pairs a theme's page shows text on: its text on its background and on its surface (cards).
 * Missing colors are the defaults. Empty: every pair reaches MIN_TEXT_CONTRAST.
 */
export function contrastProblems(colors: Partial<Record<keyof typeof DEFAULT_THEME_COLORS, string>>): ContrastProblem[] {
  const c = { ...DEFAULT_THEME_COLORS, ...colors };
  const problems: ContrastProblem[] = [];
  for (const on of ['background', 'surface'] as const) {
    const ratio = contrast(c.text, c[on]);
    if (ratio !== null && ratio < MIN_TEXT_CONTRAST) {
      problems.push({
        field: 'colors.text',
        ratio,
        message: `text on ${on} has a contrast of ${ratio.toFixed(2)}:1; WCAG AA needs at least ${MIN_TEXT_CONTRAST}:1 (pick a lighter or darker text or ${on} color)`,
      });
    }
  }
  return problems;
}
