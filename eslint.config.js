// Lint for the viewer's plain ES modules, run by scripts/test.sh.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["frontend/static/frontend/vendor/**", "node_modules/**"] },
  js.configs.recommended,
  {
    files: ["**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
      "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      // Text from data must never become HTML (STYLE.md): build elements, set textContent.
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: "Set textContent or build elements." },
        { property: "outerHTML", message: "Set textContent or build elements." },
        { property: "insertAdjacentHTML", message: "Build elements instead." },
        { object: "document", property: "write", message: "Build elements instead." },
      ],
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
    },
  },
];
