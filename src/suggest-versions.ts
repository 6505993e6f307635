/** The ClientIntents versions `suggest` writes (the first is the default). */
export const SUGGEST_VERSIONS = ["v2beta1", "v1alpha3"] as const;
export type SuggestVersion = (typeof SUGGEST_VERSIONS)[number];
