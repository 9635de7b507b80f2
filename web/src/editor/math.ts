/** Math in markdown for `marked`: `$…$`, `\(…\)` inline; `$$…$$`, `\[…\]` and LaTeX
 * environments as blocks, rendered by KaTeX (no `\href` or other trust-needing commands). */

import katex from "katex";
import type { MarkedExtension, TokenizerAndRendererExtension } from "marked";

export function renderTex(tex: string, displayMode: boolean): string {
  return katex.renderToString(tex, {
    displayMode,
    throwOnError: false,
    output: "htmlAndMathml",
    trust: false,
    strict: "ignore",
  });
}

const BLOCK = /^(?:\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|(\\begin\{([a-zA-Z*]+)\}[\s\S]+?\\end\{\4\}))[ \t]*(?:\n|$)/;
// `$…$` follows pandoc: no space just inside the dollars, no digit right after the closing one.
const INLINE = /^(?:\$\$((?:\\.|[^\\$])+?)\$\$|\$(?![\s$])((?:\\.|[^\\$\n])*?[^\\\s$])\$(?!\d)|\\\(([\s\S]+?)\\\))/;

const blockMath: TokenizerAndRendererExtension = {
  name: "blockMath",
  level: "block",
  start(src: string) {
    const match = src.match(/\$\$|\\\[|\\begin\{/);
    return match?.index;
  },
  tokenizer(src: string) {
    const match = BLOCK.exec(src);
    if (!match) return undefined;
    return { type: "blockMath", raw: match[0], text: (match[1] ?? match[2] ?? match[3]).trim() };
  },
  renderer(token) {
    return `<div class="tc-math tc-math--display">${renderTex(token.text as string, true)}</div>\n`;
  },
};

const inlineMath: TokenizerAndRendererExtension = {
  name: "inlineMath",
  level: "inline",
  start(src: string) {
    const match = src.match(/\$|\\\(/);
    return match?.index;
  },
  tokenizer(src: string) {
    const match = INLINE.exec(src);
    if (!match) return undefined;
    const display = match[1] !== undefined;
    return { type: "inlineMath", raw: match[0], text: (match[1] ?? match[2] ?? match[3]).trim(), display };
  },
  renderer(token) {
    return renderTex(token.text as string, Boolean(token.display));
  },
};

export const mathExtension: MarkedExtension = { extensions: [blockMath, inlineMath] };
