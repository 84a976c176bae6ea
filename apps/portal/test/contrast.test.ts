import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/*
 * The theme's colour pairs meet WCAG AA for text (4.5:1) in both themes: every text colour on
 * every background it is drawn on (badges: tone on its soft background). Computed from the
 * oklch() values in styles.css, so changing a token without checking it fails here; the axe
 * pass in the e2e suite checks the rendered pages.
 */

const css = readFileSync(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/styles.css"),
  "utf8",
);

function tokens(selector: string): Map<string, [number, number, number]> {
  const start = css.indexOf(`${selector} {`);
  const block = css.slice(start, css.indexOf("}", start));
  const found = new Map<string, [number, number, number]>();
  for (const match of block.matchAll(/--([a-z-]+):\s*oklch\(([\d.]+) ([\d.]+) ([\d.]+)\)/g)) {
    found.set(match[1] ?? "", [Number(match[2]), Number(match[3]), Number(match[4])]);
  }
  return found;
}

/** oklch → relative luminance (Björn Ottosson's OKLab matrices, clamped to sRGB). */
function luminance([lightness, chroma, hue]: [number, number, number]): number {
  const a = chroma * Math.cos((hue * Math.PI) / 180);
  const b = chroma * Math.sin((hue * Math.PI) / 180);
  const l = (lightness + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (lightness - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (lightness - 0.0894841775 * a - 1.291485548 * b) ** 3;
  const clamp = (value: number) => Math.min(1, Math.max(0, value));
  const red = clamp(4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s);
  const green = clamp(-1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s);
  const blue = clamp(-0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s);
  return 0.2126 * red + 0.7152 * green + 0.0722 * blue;
}

function ratio(foreground: [number, number, number], background: [number, number, number]): number {
  const [high, low] = [luminance(foreground), luminance(background)].sort((x, y) => y - x);
  return ((high ?? 0) + 0.05) / ((low ?? 0) + 0.05);
}

const TEXT = ["fg", "fg-muted", "primary", "danger", "success", "warning"];
const BACKGROUNDS = ["canvas", "surface", "surface-muted"];
const TONES = ["primary", "danger", "success", "warning"];

describe.each([
  ["light", ":root"],
  ["dark", '[data-theme="dark"]'],
])("the %s theme", (_name, selector) => {
  const palette = tokens(selector);
  const color = (name: string) => {
    const value = palette.get(name);
    if (value === undefined) throw new Error(`--${name} is not in ${selector}`);
    return value;
  };

  it.each(TEXT.flatMap((text) => BACKGROUNDS.map((background) => [text, background])))(
    "%s text on %s is at least 4.5:1",
    (text, background) => {
      expect(ratio(color(text), color(background))).toBeGreaterThanOrEqual(4.5);
    },
  );

  it.each(TONES)("a %s badge (text on its soft background) is at least 4.5:1", (tone) => {
    expect(ratio(color(tone), color(`${tone}-soft`))).toBeGreaterThanOrEqual(4.5);
  });
});
