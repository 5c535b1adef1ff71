// Chinese renderings of common English IFC storey names (by pattern) and room names (by a glossary of room words).
//
// Only what can be rendered reliably is: a storey name that is a whole known pattern, a room name whose every word
// is in the glossary (numbers and codes such as "A102", "(140)" or "2.05" are kept as they are). Anything else
// gives null and is shown as the model has it. Ordinal storeys ("First Floor") are left alone on purpose: in
// British use the first floor is the one above the ground floor, in American use it is the ground floor.

// Storey names, tried in order on the whole name (case-insensitive, spaces, '_' and '-' between parts).
const STOREY_PATTERNS = [
  [/^(?:ground|ground floor|ground level|ground storey|gf|erdgeschoss|eg)$/, () => '首层'],
  [/^(?:basement|cellar|basement level|kellergeschoss|keller)$/, () => '地下室'],
  [/^(?:basement|basement level|level b|b|ug)[ ]?(\d{1,2})$/, (n) => `地下${+n}层`],
  [/^(?:level|lvl|floor|flr|storey|story|l) ?-(\d{1,2})$/, (n) => `地下${+n}层`],
  [/^(?:level|lvl|floor|flr|storey|story|l|f) ?0*([1-9]\d?)$/, (n) => `${+n}层`],
  [/^(?:level|floor|l) ?0*([1-9]\d?) mezz(?:anine)?$/, (n) => `${+n}层夹层`],
  [/^mezz(?:anine)?(?: level| floor)?$/, () => '夹层'],
  [/^mezz(?:anine)?(?: level| floor)? ?0*([1-9]\d?)$/, (n) => `夹层${+n}`],
  [/^(?:roof|roof level|roof floor|roof storey|rooftop|roof deck|roof plan|dach)$/, () => '屋顶'],
  [/^(?:attic|loft|dachgeschoss|dg)$/, () => '阁楼层'],
  [/^(?:foundation|foundations|foundation level)$/, () => '基础层'],
  [/^(?:site|site level|terrain|gelände)$/, () => '场地'],
];

// Room words and phrases (lower case) and their Chinese. Longer phrases win over their words ("living room" is
// 客厅, not 起居室); 'room' after a translated word is 室 ("meeting room" 会议室), alone it is 房间.
const ROOM_WORDS = new Map(Object.entries({
  // offices and meeting
  office: '办公室', offices: '办公室', 'open office': '开放办公区', 'open plan office': '开放办公区',
  'private office': '独立办公室', 'back office': '后台办公室', workspace: '办公区', workroom: '工作室',
  meeting: '会议', 'meeting room': '会议室', conference: '会议', 'conference room': '会议室',
  boardroom: '董事会会议室', 'board room': '董事会会议室', training: '培训', classroom: '教室',
  seminar: '研讨', lecture: '报告', auditorium: '报告厅', reception: '前台', 'reception area': '接待区',
  waiting: '等候', 'waiting area': '等候区', 'waiting room': '等候室', 'waiting hall': '等候大厅',
  interview: '面谈', 'quiet room': '静室', 'phone booth': '电话间', counter: '柜台',
  // circulation
  corridor: '走廊', hallway: '走廊', hall: '大厅', passage: '通道', circulation: '交通区', lobby: '门厅',
  foyer: '门厅', vestibule: '门斗', entrance: '入口', entry: '入口', 'entrance hall': '入口大厅', exit: '出口',
  lift: '电梯', lifts: '电梯', elevator: '电梯', elevators: '电梯', 'lift lobby': '电梯厅', 'elevator lobby': '电梯厅',
  stair: '楼梯', stairs: '楼梯', staircase: '楼梯间', stairwell: '楼梯间', 'stair core': '楼梯间', ramp: '坡道',
  shaft: '竖井', riser: '管井', atrium: '中庭',
  // toilets and changing
  toilet: '卫生间', toilets: '卫生间', wc: '卫生间', restroom: '卫生间', restrooms: '卫生间', washroom: '卫生间',
  lavatory: '卫生间', bathroom: '卫生间', shower: '淋浴间', showers: '淋浴间', 'changing room': '更衣室',
  'locker room': '更衣室', men: '男', "men's": '男', mens: '男', male: '男', gents: '男', women: '女',
  "women's": '女', womens: '女', female: '女', ladies: '女', accessible: '无障碍', disabled: '无障碍',
  'first aid': '急救', 'mother and baby': '母婴', "mothers' room": '母婴室', 'nursing room': '母婴室',
  // storage, plant and services
  storage: '储藏', store: '储藏室', storeroom: '储藏室', 'store room': '储藏室', closet: '储物间',
  cupboard: '储物间', janitor: '保洁间', "janitor's closet": '保洁间', cleaners: '保洁', "cleaners'": '保洁',
  "cleaner's": '保洁', cleaning: '保洁', archive: '档案室', archives: '档案室', records: '档案', library: '图书室',
  copy: '复印', print: '复印', 'copy room': '复印室', 'print room': '复印室', mail: '收发', 'mail room': '收发室',
  server: '服务器', 'server room': '服务器机房', 'data centre': '数据机房', 'data center': '数据机房',
  comms: '通信', communications: '通信', 'comms room': '弱电间', telecom: '弱电间', 'it room': '信息机房',
  plant: '设备机房', 'plant room': '设备机房', mechanical: '设备机房', 'mechanical room': '设备机房',
  electrical: '配电室', 'electrical room': '配电室', 'switch room': '配电室', switchroom: '配电室',
  'boiler room': '锅炉房', 'pump room': '水泵房', 'fan room': '风机房', 'generator room': '发电机房',
  utility: '杂物间', 'utility room': '杂物间', laundry: '洗衣房', security: '安防', control: '控制',
  'control room': '控制室', 'fire control room': '消防控制室', 'loading bay': '装卸区', garage: '车库',
  parking: '停车场', 'bike store': '自行车库', refuse: '垃圾', 'refuse room': '垃圾房', 'bin store': '垃圾房',
  // kitchen, rest and home
  kitchen: '厨房', kitchenette: '茶水间', pantry: '茶水间', 'tea room': '茶水间', 'tea point': '茶水间',
  canteen: '食堂', cafeteria: '餐厅', cafe: '咖啡厅', café: '咖啡厅', dining: '用餐', 'dining room': '餐厅',
  'break room': '休息室', breakout: '休息区', 'staff room': '员工休息室', lounge: '休息室', rest: '休息',
  'living room': '客厅', living: '起居', bedroom: '卧室', 'master bedroom': '主卧室',
  study: '书房', roof: '屋顶', balcony: '阳台', terrace: '露台', attic: '阁楼', basement: '地下室', cellar: '地下室',
  // places and qualifiers
  room: '房间', area: '区', zone: '区', space: '空间', open: '开放', common: '公共', public: '公共', staff: '员工',
  visitor: '访客', visitors: '访客', customer: '客户', service: '服务', services: '服务', small: '小', large: '大',
  big: '大', main: '主', north: '北', south: '南', east: '东', west: '西', upper: '上层', lower: '下层',
  general: '综合', admin: '行政', administration: '行政', management: '管理', finance: '财务', exhibition: '展厅',
  and: '和', '&': '和',
}));
// A word that names a kind of room only with a noun after it ("Storage Room"): its form when it ends the name
// ("Storage", "Meeting 2").
const ALONE = new Map(Object.entries({
  meeting: '会议室', conference: '会议室', training: '培训室', seminar: '研讨室', lecture: '报告厅',
  interview: '面谈室', waiting: '等候区', storage: '储藏室', cleaners: '保洁间', "cleaners'": '保洁间',
  "cleaner's": '保洁间', cleaning: '保洁间', records: '档案室', copy: '复印室', print: '复印室', mail: '收发室',
  server: '服务器机房', comms: '弱电间', communications: '弱电间', security: '安防室', control: '控制室',
  dining: '餐厅', living: '起居室', rest: '休息室', 'first aid': '急救室', 'mother and baby': '母婴室',
  exhibition: '展厅', service: '服务区', services: '服务区', customer: '客户服务区', staff: '员工休息室',
  refuse: '垃圾房', men: '男卫生间', "men's": '男卫生间', mens: '男卫生间', male: '男卫生间', gents: '男卫生间',
  women: '女卫生间', "women's": '女卫生间', womens: '女卫生间', female: '女卫生间', ladies: '女卫生间',
}));
// Qualifiers: before a noun they read the same in Chinese ("North Corridor" 北走廊); after it ("Lobby East")
// the order would be wrong, so a name ending in one is left as it is.
const QUALIFIERS = new Set(['open', 'common', 'public', 'small', 'large', 'big', 'main', 'north', 'south', 'east',
  'west', 'upper', 'lower', 'general', 'admin', 'administration', 'management', 'finance', 'visitor', 'visitors',
  'accessible', 'disabled', 'and', '&', 'private']);
const LONGEST_PHRASE = Math.max(...[...ROOM_WORDS.keys()].map((key) => key.split(' ').length));
const CJK = /[\u3400-\u9fff]/;
// A room name in parts: codes (anything with a digit, or one capital letter alone: "A102", "2.05", "B"; "(140)"
// is "(" "140" ")"), words (letters, an apostrophe), '&', and everything else (spaces, punctuation) as it is.
const PARTS = /([A-Za-z]*\d[\w.]*|\b[A-Z]\b)|([A-Za-zÀ-ÿ]+(?:['’][A-Za-z]*)?)|(&)|([^A-Za-zÀ-ÿ\d&]+)/g;

// The Chinese of an English storey name ("Level 2" -> "2层", "Ground Floor" -> "首层", "B1" -> "地下1层",
// "Roof" -> "屋顶"), or null.
export function storeyZh(name) {
  const key = normalise(name);
  if (!key) return null;
  for (const [pattern, render] of STOREY_PATTERNS) {
    const match = pattern.exec(key);
    if (match) return render(...match.slice(1));
  }
  return null;
}

// The Chinese of an English room name whose every word the glossary knows ("OPEN OFFICE (140)" ->
// "开放办公区 (140)", "Bathroom 1" -> "卫生间 1", "Men's WC" -> "男卫生间"), or null.
export function roomZh(name) {
  const text = String(name ?? '').trim();
  if (!text || CJK.test(text)) return null;
  const parts = [...text.matchAll(PARTS)].map(([whole, code, word, and]) => (
    word ? { word: word.toLowerCase().replace('’', "'") } : and ? { word: '&' } : code ? { keep: whole } : { gap: whole }));
  const out = [];
  let words = 0;
  let last = null; // what was last put out: 'zh', 'keep' or 'gap'
  let lastWord = null; // the last glossary entry used, and where its Chinese is in out
  for (let i = 0; i < parts.length;) {
    const part = parts[i];
    if (!part.word) {
      // A space between two Chinese pieces goes ("Open Office" is 开放办公区); one beside a code stays.
      if (part.gap && /^\s+$/.test(part.gap) && last === 'zh' && parts[i + 1]?.word) { i += 1; continue; }
      out.push(part.keep ?? part.gap);
      last = part.keep ? 'keep' : 'gap';
      i += 1;
      continue;
    }
    const found = longestPhrase(parts, i);
    if (!found) return null; // a word the glossary does not know: the name stays as it is
    const [key, zh, next] = found;
    lastWord = { key, at: out.length };
    out.push(zh === '房间' && last === 'zh' ? '室' : zh);
    last = 'zh';
    words += 1;
    i = next;
  }
  if (!words || QUALIFIERS.has(lastWord.key)) return null;
  if (ALONE.has(lastWord.key)) out[lastWord.at] = ALONE.get(lastWord.key);
  return out.join('').replace(/\s+/g, ' ').trim();
}

// The glossary's longest phrase starting at parts[i] (words joined by spaces or hyphens): [key, zh, next index].
function longestPhrase(parts, start) {
  let best = null;
  const words = [];
  for (let i = start; i < parts.length && words.length < LONGEST_PHRASE;) {
    if (!parts[i].word) break;
    words.push(parts[i].word);
    const key = words.join(' ');
    if (ROOM_WORDS.has(key)) best = [key, ROOM_WORDS.get(key), i + 1];
    const gap = parts[i + 1]?.gap;
    if (gap === undefined || !/^[\s-]+$/.test(gap)) break; // a phrase runs over spaces and hyphens only
    i += 2;
  }
  return best;
}

// Lower case, one space between parts; a hyphen is a separator ("Level-1", "B-1"), except a minus sign after a
// space ("Level -1").
function normalise(name) {
  return String(name ?? '').toLowerCase().replace(/[\s_]+/g, ' ').trim()
    .replace(/([^\s-])-/g, '$1 ').replace(/-(?!\d)/g, ' ').replace(/\s+/g, ' ').trim();
}
