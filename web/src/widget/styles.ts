// The widget's styles live in its shadow root: the host page's CSS cannot
// reach in, and ours cannot leak out. `--sb-accent` and `--sb-on-accent` are
// set from the deployment's colour (with black or white text, whichever reads
// better on it).

export const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.root { position: fixed; bottom: 20px; z-index: 2147483000; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; }
.root.right { right: 20px; } .root.left { left: 20px; }
button { font: inherit; cursor: pointer; }
button:focus-visible, textarea:focus-visible, a:focus-visible, input:focus-visible, label:focus-within { outline: 3px solid #1a73e8; outline-offset: 2px; }
.launcher { display: flex; align-items: center; gap: 8px; min-height: 56px; min-width: 56px; padding: 0 18px; border: 0; border-radius: 28px; background: var(--sb-accent); color: var(--sb-on-accent); box-shadow: 0 4px 16px rgba(0,0,0,.25); font-weight: 600; }
.launcher svg { width: 24px; height: 24px; flex: none; }
.badge { background: #d93025; color: #fff; border-radius: 10px; font-size: 12px; padding: 0 6px; }
.nudge { position: absolute; bottom: 70px; width: 260px; background: #fff; border-radius: 12px; padding: 12px 32px 12px 14px; box-shadow: 0 4px 18px rgba(0,0,0,.2); }
.right .nudge { right: 0; } .left .nudge { left: 0; }
.nudge .x { position: absolute; top: 4px; right: 4px; border: 0; background: none; font-size: 18px; color: #555; width: 28px; height: 28px; }
.nudge .greet { cursor: pointer; } .nudge p { margin: 0; }
.panel { position: absolute; bottom: 72px; width: 380px; height: min(620px, calc(100vh - 110px)); display: flex; flex-direction: column; background: #fff; border-radius: 14px; box-shadow: 0 8px 32px rgba(0,0,0,.28); overflow: hidden; }
.right .panel { right: 0; } .left .panel { left: 0; }
header { display: flex; align-items: center; gap: 10px; padding: 12px 14px; background: var(--sb-accent); color: var(--sb-on-accent); }
header img { width: 32px; height: 32px; border-radius: 50%; object-fit: cover; background: #fff; }
header .title { flex: 1; font-weight: 600; }
header .sub { font-size: 12px; opacity: .9; font-weight: 400; }
header button { border: 0; background: transparent; color: inherit; width: 36px; height: 36px; border-radius: 50%; font-size: 22px; line-height: 1; }
.log { flex: 1; overflow-y: auto; padding: 14px; display: flex; flex-direction: column; gap: 8px; background: #f7f7f8; }
.msg { max-width: 85%; padding: 8px 12px; border-radius: 14px; overflow-wrap: anywhere; white-space: normal; }
.msg p { margin: 0 0 6px; } .msg p:last-child { margin-bottom: 0; }
.msg pre { white-space: pre-wrap; background: rgba(0,0,0,.06); padding: 6px; border-radius: 6px; margin: 4px 0; }
.msg code { font-family: ui-monospace, Menlo, monospace; font-size: 13px; }
.msg ul, .msg ol { margin: 4px 0; padding-left: 20px; }
.msg blockquote { margin: 4px 0; padding-left: 8px; border-left: 3px solid #ccc; }
.msg .md-table { overflow-x: auto; } .msg table { border-collapse: collapse; } .msg td, .msg th { border: 1px solid #ccc; padding: 2px 6px; }
.msg a { color: inherit; text-decoration: underline; }
.customer { align-self: flex-end; background: var(--sb-accent); color: var(--sb-on-accent); border-bottom-right-radius: 4px; }
.assistant, .human { align-self: flex-start; background: #fff; border: 1px solid #e2e2e5; border-bottom-left-radius: 4px; }
.human { border-color: #b9d3f7; }
.msg button.file { border: 0; background: none; color: inherit; text-decoration: underline; padding: 0; text-align: left; }
.author { font-size: 12px; color: #4a4a4a; font-weight: 600; margin-bottom: 2px; }
.system { align-self: center; font-size: 13px; color: #4a4a4a; text-align: center; max-width: 95%; }
.failed { opacity: .7; } .failed::after { content: " (not sent)"; font-size: 12px; }
.cites { margin-top: 6px; padding-top: 6px; border-top: 1px solid #e2e2e5; font-size: 13px; }
.cites ol { margin: 0; padding-left: 18px; }
sup.cite { font-size: 11px; }
.typing { align-self: flex-start; display: flex; gap: 4px; padding: 12px; background: #fff; border: 1px solid #e2e2e5; border-radius: 14px; }
.typing span.dot { width: 7px; height: 7px; border-radius: 50%; background: #777; animation: blink 1.2s infinite; }
.typing span.dot:nth-child(2) { animation-delay: .2s; } .typing span.dot:nth-child(3) { animation-delay: .4s; }
@keyframes blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
@media (prefers-reduced-motion: reduce) { .typing span.dot { animation: none; opacity: .7; } }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.notice { margin: 0; padding: 8px 12px; background: #fdecea; color: #8c1d18; font-size: 13px; display: flex; gap: 8px; align-items: center; }
.notice span { flex: 1; } .notice button { border: 0; background: none; color: inherit; text-decoration: underline; }
.actions { display: flex; gap: 8px; padding: 6px 12px 0; }
.actions button, .csat button.send { border: 1px solid #c7c7cc; background: #fff; color: #1a1a1a; border-radius: 16px; padding: 4px 12px; font-size: 13px; }
.csat { padding: 10px 14px; border-top: 1px solid #e2e2e5; }
.csat p { margin: 0 0 6px; font-weight: 600; }
.stars { display: flex; gap: 4px; margin-bottom: 6px; }
.stars button { border: 1px solid #c7c7cc; background: #fff; border-radius: 8px; width: 40px; height: 36px; font-size: 18px; color: #1a1a1a; }
.stars button[aria-pressed="true"] { background: var(--sb-accent); color: var(--sb-on-accent); border-color: var(--sb-accent); }
.csat textarea { width: 100%; min-height: 40px; }
form.composer { display: flex; align-items: flex-end; gap: 6px; padding: 10px 12px 12px; border-top: 1px solid #e2e2e5; background: #fff; }
.composer textarea { flex: 1; resize: none; min-height: 40px; max-height: 120px; padding: 9px 10px; border: 1px solid #8e8e93; border-radius: 10px; font: inherit; color: #1a1a1a; background: #fff; }
.icon { border: 0; width: 40px; height: 40px; border-radius: 50%; background: transparent; color: #444; display: inline-flex; align-items: center; justify-content: center; }
.icon svg { width: 22px; height: 22px; }
.icon.send { background: var(--sb-accent); color: var(--sb-on-accent); }
.icon:disabled { opacity: .5; cursor: default; }
label.icon { cursor: pointer; } label.icon input { position: absolute; width: 1px; height: 1px; opacity: 0; }
.offline { font-size: 12px; padding: 2px 12px; color: #6b4e00; background: #fff4d6; }
@media (max-width: 480px) {
  .root { bottom: 12px; } .root.right { right: 12px; } .root.left { left: 12px; }
  .root.open { inset: 0; }
  .root.open .launcher { display: none; }
  .panel { position: fixed; inset: 0; width: 100%; height: 100%; border-radius: 0; }
  .composer textarea { font-size: 16px; }
}
`;
