import { escapeHtml } from './page.js';

/** What a link preview (Open Graph, Twitter/X card) shows for a page. */
export interface PreviewTags {
  title: string;
  description: string;
  url: string;
  image?: string | null;
  /** Open Graph type: `website`, or `music.song` for a replay with its audio. */
  type?: string;
  /** A public audio file the preview may play (og:audio). */
  audio?: string | null;
}

/**
 * The `<meta>` tags link previews read: Open Graph (Facebook, LinkedIn, Slack, Mastodon…) and the
 * Twitter/X card. Every value is escaped for an attribute: a hostile talk name stays text. A card
 * with an image is `summary_large_image`, else `summary`.
 */
export function previewTags(p: PreviewTags): string {
  const attr = (s: string) => escapeHtml(s);
  const description = p.description.length > 300 ? `${p.description.slice(0, 297)}…` : p.description;
  const tags = [
    `<meta name="description" content="${attr(description)}">`,
    `<meta property="og:site_name" content="smalltalk">`,
    `<meta property="og:title" content="${attr(p.title)}">`,
    `<meta property="og:description" content="${attr(description)}">`,
    `<meta property="og:type" content="${attr(p.type ?? 'website')}">`,
    `<meta property="og:url" content="${attr(p.url)}">`,
    `<link rel="canonical" href="${attr(p.url)}">`,
    `<meta name="twitter:card" content="${p.image ? 'summary_large_image' : 'summary'}">`,
    `<meta name="twitter:title" content="${attr(p.title)}">`,
    `<meta name="twitter:description" content="${attr(description)}">`,
  ];
  if (p.image) tags.push(`<meta property="og:image" content="${attr(p.image)}">`, `<meta name="twitter:image" content="${attr(p.image)}">`);
  if (p.audio) tags.push(`<meta property="og:audio" content="${attr(p.audio)}">`, `<meta property="og:audio:type" content="audio/mp4">`);
  return tags.join('\n');
}

/** JSON for a `<script type="application/json">` block: '<' escaped, so no "</script>" ends it early. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}
