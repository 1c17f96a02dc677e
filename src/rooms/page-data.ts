/**
 * What the server renders into the talk page for its script (page.ts writes it, web/src/talk reads
 * it): one type for both sides. It imports nothing, so the page's bundle can use it.
 */
export interface TalkPageData {
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
    mic_behavior: string;
    subscriptions_allowed: boolean;
    /** Said before anyone joins: the talk is recorded (and transcribed, when an engine is set). */
    recording: boolean;
    transcribed: boolean;
    url: string;
    /** The series page, when the talk is one of a recurring series. */
    series_url: string | null;
  };
  theme: { logo_url: string | null; background_url: string | null };
  /** Who is in the talk now (no ids: names, roles and photos only). */
  present: { name: string; role: string; photo_url: string | null }[];
}
