/** The talk page's data from the server (its type shared with the server), and the secrets in the link. */
import type { TalkPageData } from '../../../src/rooms/page-data.js';

export type PageData = TalkPageData;

/** What the server rendered into the page for this talk. */
export const data = JSON.parse(document.getElementById('talk-data')?.textContent ?? '{}') as PageData;
/** The join token or invite from the link's fragment (never sent to the server with the page). */
export const secrets = new URLSearchParams(location.hash.replace(/^#/, ''));
export const fmt = (iso: string | null) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' }) : null);
