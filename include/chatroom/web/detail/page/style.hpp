#pragma once

// The chat page's style sheet, the text of its one <style> element: light and
// dark colours by prefers-color-scheme, the three-column layout that folds
// to one column on a phone, rows of the log (each one contained, so that a
// row drawn or taken away lays out and paints only itself), badges of the
// room list.
//
// Raw text, copied into the page as it is (web/detail/page.hpp): keep it ASCII,
// free of two blank lines in a row and of `#include <chatroom/...>` lines
// (scripts/amalgamate.py rewrites both).
namespace chatroom::detail::page_text {

inline constexpr char style[] = R"chatroom(:root{--bg:#f6f7f9;--fg:#1c1e22;--dim:#575e6b;--bar:#fff;--rule:#d5d8de;--err:#b71c1c;--hl:#fff1c2;--hlb:#b7791f;--acc:#1d4ed8;--btn:#1d4ed8;--sel:#eaeffa;--nl:.38;--nd:.05;--wait:#fff4e5;--waitf:#7a4200}
@media (prefers-color-scheme:dark){:root{--bg:#15171b;--fg:#e4e6ea;--dim:#9aa1ae;--bar:#1e2126;--rule:#353a44;--err:#ff8a80;--hl:#2b2412;--hlb:#d4a72c;--acc:#8cb4ff;--btn:#1d4ed8;--sel:#1f242c;--nl:.7;--nd:.07;--wait:#3a2a12;--waitf:#ffd08a}}
*{box-sizing:border-box}
[hidden]{display:none!important}
html,body{height:100%;margin:0}
body{display:flex;flex-direction:column;height:100vh;height:100dvh;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;align-items:center;gap:.7em;padding:.45em 1em;padding-top:max(.45em,env(safe-area-inset-top));background:var(--bar);border-bottom:1px solid var(--rule);white-space:nowrap}
h1{font-size:1em;margin:0;overflow:hidden;text-overflow:ellipsis;max-width:30%}
h2{font-size:.8em;text-transform:uppercase;letter-spacing:.05em;color:var(--dim);margin:.8em .8em .3em}
#room{color:var(--acc);font-weight:600;overflow:hidden;text-overflow:ellipsis}
#me{margin-left:auto;color:var(--dim);overflow:hidden;text-overflow:ellipsis}
#nick{color:var(--fg);font-weight:600}
#status{padding:.35em 1em;font-size:.9em;background:var(--wait);color:var(--waitf);border-bottom:1px solid var(--rule);cursor:pointer}
#status[data-state=open]{display:none}
#wrap{flex:1;display:flex;min-height:0}
nav,aside{flex:none;width:12em;overflow-y:auto;background:var(--bar);border-right:1px solid var(--rule)}
aside{border:0;border-left:1px solid var(--rule)}
ul{list-style:none;margin:0;padding:0}
#rooms li{display:flex;align-items:center}
#rooms li.cur{background:var(--sel)}
#rooms .go{flex:1;display:flex;gap:.4em;background:none;color:var(--fg);font-weight:400;text-align:left;padding:.35em .8em;border-radius:0;min-width:0}
#rooms .cur .go{font-weight:700}
.go span:first-child{flex:1;overflow:hidden;text-overflow:ellipsis}
.u,.at{display:inline-flex;align-items:center;justify-content:center;align-self:center;min-width:1.6em;height:1.6em;line-height:1;border-radius:1em;padding:0 .45em;font-size:.8em;font-weight:700;background:var(--fg);color:var(--bg)}
.at{background:var(--err)}
.u:empty,.at:empty{display:none}
#rooms .x{background:none;color:var(--dim);padding:.2em .6em}
#jf,#lf{display:flex;flex-wrap:wrap;gap:.3em;padding:.5em .8em}
#jf label,#lf label{width:100%;font-size:.85em;color:var(--dim)}
#lf{background:var(--hl);border-bottom:1px solid var(--rule);padding:.6em 1em}
#lf label{width:auto;align-self:center;color:var(--fg)}
#lw{display:flex;gap:.3em}
#mem li{padding:.15em .8em;overflow:hidden;text-overflow:ellipsis}
main{flex:1;display:flex;flex-direction:column;min-width:0;position:relative}
.day{text-align:center;color:var(--dim);font-size:.8em;font-weight:600;margin:.6em 0 .2em;border-bottom:1px solid var(--rule)}
#nm{position:absolute;left:50%;bottom:4.4em;transform:translateX(-50%);box-shadow:0 1px 5px #0005}
#log{flex:1;overflow-y:auto;padding:.5em 1em;white-space:pre-wrap;overflow-wrap:anywhere;overscroll-behavior:contain}
.l{display:flex;gap:.6em;padding:1px .3em;border-radius:3px}
.l,.day{contain:content}
.t{flex:none;color:var(--dim);font-size:.78em;line-height:1.9;font-variant-numeric:tabular-nums}
.m{flex:1;min-width:0}
.n{font-weight:600;color:oklch(calc(var(--nl) + var(--v,0) * var(--nd)) .14 var(--h))}
.p{color:var(--dim)}
.act .m{font-style:italic}
.sys .m{color:var(--dim);font-size:.88em}
.sys .m:before{content:"\2192  ";font-style:normal}
.self{background:var(--sel)}
.err .m{color:var(--err);font-weight:600}
.hl,.priv{background:var(--hl);box-shadow:inset 3px 0 var(--hlb)}
a{color:var(--acc)}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
#f{display:flex;gap:.5em;padding:.6em 1em;padding-bottom:max(.6em,env(safe-area-inset-bottom));background:var(--bar);border-top:1px solid var(--rule)}
input{flex:1;min-width:0;font:inherit;font-size:16px;padding:.4em .7em;border:1px solid var(--dim);border-radius:8px;background:var(--bg);color:var(--fg)}
:focus-visible{outline:2px solid var(--acc);outline-offset:-1px}
button{font:inherit;font-weight:600;padding:.4em 1em;border:0;border-radius:8px;background:var(--btn);color:#fff;cursor:pointer}
#mb,#nb{display:none;background:none;color:var(--acc);padding:.2em .4em}
#nb{display:block;font-weight:400}
#nb[aria-pressed=true]{font-weight:700}
#nb[aria-pressed=true]:before{content:"\2713  "}
@media (max-width:700px){nav,aside{display:none}#mb{display:block}body.side nav,body.side aside{display:block;width:50%}body.side main{display:none}#me{display:none}#nb{margin-left:auto}}
.top{text-align:center;color:var(--dim);font-size:.85em;padding:.2em}
.gap{border-top:2px dashed var(--err)}
.gap .m{color:var(--err)}
.top button{background:none;color:var(--acc);font-weight:400;padding:.2em .6em}
@media (forced-colors:active){.self{border:1px dashed CanvasText}.hl,.priv{border:2px solid Highlight;border-left-width:6px}#jf button,#lf button,#f button,#nm{border:2px solid ButtonText}}
)chatroom";

} // namespace chatroom::detail::page_text
