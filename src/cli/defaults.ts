/** How far back observations count unless --window says otherwise. */
export const DEFAULT_WINDOW = "168h";
