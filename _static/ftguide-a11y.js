// Accessible names that match what readers see (axe rule label-content-name-mismatch):
// the theme labels the search button "Search" while it shows "Search Ctrl+K", the code-cell
// toggles "Toggle hidden content" while they show "Show code cell source", and the colour-mode
// button ("Color mode") holds icons titled "Light", "Dark" and "System Settings". Visible text
// names the first two; the button's icons lose their titles and are hidden from assistive tech.
function ftguideFixNames() {
  document.querySelectorAll("summary[aria-label], .search-button-field[aria-label]")
    .forEach((element) => element.removeAttribute("aria-label"));
  document.querySelectorAll(".theme-switch-button :is(svg, i)").forEach((icon) => {
    icon.querySelectorAll("title").forEach((title) => title.remove());
    icon.removeAttribute("title");
    icon.removeAttribute("aria-labelledby");
    icon.setAttribute("aria-hidden", "true");
  });
}
// The icons are inline SVG from the build (_ext/theme_icons.py), so they are all there by then.
document.addEventListener("DOMContentLoaded", ftguideFixNames);
