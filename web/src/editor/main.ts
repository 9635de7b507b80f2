/** The notebook editor's entry point (bundled into tandem/static/editor.js). */

import "katex/dist/katex.min.css";
import "./editor.css";

import { App } from "./app";
import { readConfig } from "./config";

const mount = document.getElementById("app");
if (mount) {
  void new App(readConfig(), mount).start();
}
