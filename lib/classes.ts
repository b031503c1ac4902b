/** The two classes of the paper, by label: 0 spontaneous swims, 1 prey capture bouts. */
export const CLASS_NAMES = ["spontaneous", "prey"] as const;
