/** The plugin's version, as `kubectl otter version` and the reports' tool metadata print it. */
export const VERSION = "0.1.0";
