// Real English words that sit one edit from a word the planner knows ("cold" / old, "burn" /
// turn, "mark" / dark, "halt" / half, "back" / black, "bluer" / blur, "mellow" / yellow). Typo
// correction must never rewrite them: a real word the planner does not know is reported as not
// understood, not silently read as another operation.
export const COMMON_ENGLISH_WORDS: ReadonlySet<string> = new Set(
  (
    "back bark bass bent best blown bluer blurt boast bold bone boot borer bound brim brink brow burn " +
    "came chop clap clip clue cold cone cool cord cove crap crate crow crown date dent dint done dour " +
    "drop drown faint fate fellow fight fighter fine flame flap flow flue fold fool found frown game " +
    "glue gone gown grim ground grown halt hate heights hello hide hint hold hour jest joint lame lark " +
    "lass lest line lint lone mark mast mate mellow might mine mint mize mold moon morn mount move mown " +
    "name nest night none order park past pest pine pint poise pool pour praise prim prone prop rent " +
    "resized ride rise saint scare sent shame shard share shark shirt shone sight sized slide slip slur " +
    "snow sold sound sour sown spare stale stone stop string stripe sweet swift taint tame tent test " +
    "think tide tight tighter told tool torn tour town treat trip vent vest vise ward weight went west " +
    "widths wild wine wool word world wound zest zone"
  ).split(" "),
);
