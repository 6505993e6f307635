import js from "@eslint/js";
import tseslint from "typescript-eslint";

const IO =
  "src/ is the pure engine and does no I/O (ADR 1): do it in cmd/, webhook/, collector/ or server/ and pass the result in.";
const CLOCK = "src/ reads no clock (ADR 1): take the time as an input (`now`).";
const RANDOM = "src/ takes randomness as an input (ADR 1): draw it in a front end.";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".cache/", ".prof/", "bin/", "coverage/", "build/"] },
  {
    // Build scripts and the test images' programs, run by Node directly.
    files: ["scripts/**/*.mjs", "test/images/*.mjs"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        setInterval: "readonly",
      },
    },
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "always"],
      "no-console": "off",
    },
  },
  {
    // ADR 1: src/ is the pure engine. It does no I/O and reads no clock, randomness or
    // environment: the front ends (cmd/, webhook/, collector/, server/) gather those and pass
    // them in. What src/ may not import or touch, said where a change would break it.
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            ...[
              "fs",
              "fs/promises",
              "net",
              "http",
              "https",
              "http2",
              "tls",
              "dgram",
              "dns",
              "dns/promises",
              "child_process",
              "cluster",
              "os",
              "process",
              "readline",
              "worker_threads",
              "timers",
              "timers/promises",
            ].flatMap((m) => [m, `node:${m}`].map((name) => ({ name, message: IO }))),
            ...["@kubernetes/client-node", "express", "prom-client"].map((name) => ({
              name,
              message: IO,
            })),
            ...["crypto", "node:crypto"].map((name) => ({
              name,
              importNames: [
                "randomBytes",
                "randomUUID",
                "randomInt",
                "getRandomValues",
                "webcrypto",
              ],
              message: "src/ takes randomness as an input (ADR 1): draw it in a front end.",
            })),
          ],
        },
      ],
      "no-restricted-globals": [
        "error",
        ...["process", "fetch", "setTimeout", "setInterval", "setImmediate", "console"].map(
          (name) => ({ name, message: IO }),
        ),
      ],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: CLOCK },
        { object: "Math", property: "random", message: RANDOM },
        { object: "performance", property: "now", message: CLOCK },
        { object: "forge", property: "random", message: RANDOM },
        { object: "crypto", property: "getRandomValues", message: RANDOM },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: CLOCK },
        { selector: "MemberExpression[property.name='generateKeyPair']", message: RANDOM },
      ],
    },
  },
);
