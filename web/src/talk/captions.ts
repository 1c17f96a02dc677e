/** A caption line in the talk page: a final caption, or the interim text of a phrase still being spoken. */
export interface CaptionLine {
  participantId: string;
  name: string;
  text: string;
  interim: boolean;
}

/**
 * The lines after `cap` arrived: a speaker's interim text replaces their previous interim line, and
 * their final caption replaces it too (the phrase is done); at most the last 20 lines are kept.
 */
export function withCaption(lines: CaptionLine[], cap: CaptionLine): CaptionLine[] {
  const kept = lines.filter((l) => !(l.interim && l.participantId === cap.participantId));
  return [...kept.slice(-19), cap];
}
