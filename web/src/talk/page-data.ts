/** The talk page's data from the server, and the secrets in the link. */
export interface PageData {
  talk: {
    id: string;
    code: string;
    name: string;
    description: string | null;
    start_time: string | null;
    end_time: string | null;
    status: string;
    access: string;
    room_type: string;
    subscriptions_allowed: boolean;
    recording: boolean;
    transcribed: boolean;
    url: string;
    /** The series page, when the talk is one of a recurring series. */
    series_url: string | null;
  };
  theme: { logo_url: string | null; background_url: string | null };
  present: { name: string; role: string; photo_url: string | null }[];
}

/** What the server rendered into the page for this talk. */
export const data = JSON.parse(document.getElementById('talk-data')?.textContent ?? '{}') as PageData;
/** The join token or invite from the link's fragment (never sent to the server with the page). */
export const secrets = new URLSearchParams(location.hash.replace(/^#/, ''));
export const fmt = (iso: string | null) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' }) : null);
