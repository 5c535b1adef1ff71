"""The demo hall's window groups, ticket services and service catalogue: what a Chinese city hall handles, where.

Windows 1-12 on 1F are integrated (一窗受理) windows, some of them set aside for police, civil and notary items;
13-16 handle cross-province items (跨省通办), 17-20 hand out results; 2F has per-domain windows (layout._DOMAINS):
21-23 market regulation, 24-25 social and medical insurance, 26-28 housing provident fund, 29-30 tax, 31-32 real
estate. Self-service and convenience items are handled in their zones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bim_models.yaml_style import Flow, FlowList, names

# (id, zh, en, zone, waiting zone, windows, ticket prefix)
WINDOW_GROUPS = (
    ("integrated", "综合受理窗口", "Integrated windows", "1f-win", "1f-wait", range(1, 13), "A"),
    ("cross-province", "跨省通办窗口", "Cross-province windows", "1f-win", "1f-wait", range(13, 17), "B"),
    ("pickup", "出件窗口", "Result pick-up windows", "1f-win", "1f-wait", range(17, 21), "C"),
    ("market", "市场监管窗口", "Market regulation windows", "2f-win", "2f-wait", range(21, 24), "D"),
    ("social", "社保医保窗口", "Social and medical insurance windows", "2f-win", "2f-wait", range(24, 26), "E"),
    ("fund", "公积金窗口", "Housing provident fund windows", "2f-win", "2f-wait", range(26, 29), "F"),
    ("tax", "税务窗口", "Tax windows", "2f-win", "2f-wait", range(29, 31), "G"),
    ("real-estate", "不动产登记窗口", "Real estate registration windows", "2f-win", "2f-wait", range(31, 33), "H"),
)

CATEGORIES = (
    ("household", "户籍办理", "Household registration"),
    ("identity", "身份证件", "Identity cards"),
    ("exit-entry", "出入境", "Exit and entry"),
    ("social", "社会保险", "Social insurance"),
    ("medical", "医疗保障", "Medical insurance"),
    ("fund", "住房公积金", "Housing provident fund"),
    ("real-estate", "不动产登记", "Real estate"),
    ("business", "企业开办", "Starting a business"),
    ("tax", "税务", "Tax"),
    ("civil", "婚姻民政", "Marriage and civil affairs"),
    ("disability", "残疾人服务", "Disability services"),
    ("traffic", "车驾管", "Driving and vehicles"),
    ("notary", "公证", "Notary"),
    ("general", "综合便民", "General and convenience"),
)


@dataclass(frozen=True)
class Service:
    id: str
    zh: str
    en: str
    category: str
    at: str  # "group:<id>", "windows:1,2" or "zone:<id>"
    keywords_zh: tuple[str, ...] = ()
    keywords_en: tuple[str, ...] = ()


S = Service
POLICE = "windows:1,2"  # household registration, handled by the police desk among the integrated windows
ID_CARDS = "windows:3,4"
EXIT_ENTRY = "windows:5,6"
SERVICES = (
    S("hukou-move-in", "户籍迁入", "Household registration: moving in", "household", POLICE,
      ("落户", "迁户口", "入户", "户口"), ("hukou", "residence registration", "settle")),
    S("hukou-move-out", "户籍迁出", "Household registration: moving out", "household", POLICE,
      ("户口迁移", "迁出户口", "户口"), ("hukou", "move out")),
    S("birth-registration", "出生登记", "Birth registration", "household", POLICE,
      ("新生儿落户", "报户口", "新生儿"), ("newborn", "baby", "hukou")),
    S("hukou-cancellation", "死亡注销户口", "Household deregistration after a death", "household", POLICE,
      ("注销户口", "销户"), ("deregistration", "death")),
    S("residence-permit", "居住证办理", "Residence permit", "household", POLICE,
      ("居住证", "暂住证"), ("residence permit", "migrant")),
    S("id-card-first", "居民身份证首次申领", "Resident ID card: first application", "identity", ID_CARDS,
      ("身份证", "办身份证", "申领身份证"), ("id card", "identity card")),
    S("id-card-renewal", "居民身份证换领补领", "Resident ID card: renewal or replacement", "identity", ID_CARDS,
      ("身份证过期", "身份证丢失", "补办身份证", "换身份证"), ("id card", "lost", "expired", "replace")),
    S("temp-id-card", "临时居民身份证", "Temporary resident ID card", "identity", ID_CARDS,
      ("临时身份证",), ("temporary id",)),
    S("passport", "普通护照申领", "Passport application", "exit-entry", EXIT_ENTRY,
      ("护照", "出国", "办护照"), ("passport", "travel abroad")),
    S("hk-macao-permit", "往来港澳通行证及签注", "Exit-entry permit for Hong Kong and Macao", "exit-entry", EXIT_ENTRY,
      ("港澳通行证", "签注", "去香港", "去澳门"), ("hong kong", "macao", "endorsement")),
    S("taiwan-permit", "往来台湾通行证及签注", "Travel permit to Taiwan", "exit-entry", EXIT_ENTRY,
      ("台湾通行证", "入台证"), ("taiwan",)),
    S("social-enrolment", "社保参保登记", "Social insurance enrolment", "social", "group:social",
      ("参保", "社保登记", "交社保"), ("social security", "enrol", "registration")),
    S("pension-claim", "养老保险待遇申领", "Pension claim", "social", "group:social",
      ("退休", "养老金", "养老保险"), ("retirement", "pension")),
    S("pension-transfer", "养老保险关系转移", "Pension account transfer", "social", "group:social",
      ("社保转移", "养老转移"), ("pension transfer",)),
    S("unemployment-benefit", "失业保险金申领", "Unemployment benefit claim", "social", "group:social",
      ("失业金", "失业"), ("unemployment", "jobless")),
    S("social-card", "社会保障卡申领补换", "Social security card: apply or replace", "social", "group:social",
      ("社保卡", "补社保卡"), ("social security card",)),
    S("work-injury", "工伤认定申请", "Work injury recognition", "social", "group:social",
      ("工伤",), ("work injury", "accident at work")),
    S("medical-reimbursement", "医保零星报销", "Medical insurance reimbursement", "medical", "group:social",
      ("医保报销", "医疗费报销", "医保"), ("medical expenses", "refund", "reimbursement")),
    S("medical-enrolment", "城乡居民医保参保", "Resident medical insurance enrolment", "medical", "group:social",
      ("居民医保", "医保参保", "医保"), ("medical insurance", "health insurance")),
    S("medical-elsewhere", "异地就医备案", "Registration for medical care in another city", "medical",
      "group:cross-province", ("异地就医", "外地看病"), ("out-of-town treatment", "medical care elsewhere")),
    S("maternity-benefit", "生育津贴申领", "Maternity allowance", "medical", "group:social",
      ("生育保险", "生育津贴", "产假"), ("maternity", "childbirth")),
    S("fund-withdrawal", "住房公积金提取", "Housing provident fund withdrawal", "fund", "group:fund",
      ("公积金提取", "取公积金", "公积金"), ("provident fund", "withdraw", "gjj")),
    S("fund-loan", "住房公积金贷款", "Housing provident fund loan", "fund", "group:fund",
      ("公积金贷款", "买房贷款", "公积金"), ("mortgage", "home loan", "provident fund")),
    S("fund-account", "公积金账户设立与转移", "Provident fund account: open or transfer", "fund", "group:fund",
      ("公积金转移", "公积金开户"), ("account transfer", "provident fund")),
    S("property-transfer", "不动产转移登记", "Real estate transfer registration", "real-estate", "group:real-estate",
      ("过户", "二手房", "房产证", "房本"), ("property transfer", "buy a house", "sell a house")),
    S("property-first", "不动产首次登记", "First registration of real estate", "real-estate", "group:real-estate",
      ("新房办证", "房产证", "不动产权证"), ("title deed", "new home")),
    S("mortgage-registration", "抵押权登记", "Mortgage registration", "real-estate", "group:real-estate",
      ("抵押", "房屋抵押"), ("mortgage",)),
    S("property-records", "不动产登记资料查询", "Real estate records enquiry", "real-estate", "group:real-estate",
      ("房产查询", "查档", "产权查询"), ("property records", "title search")),
    S("company-setup", "企业设立登记", "Company registration (business licence)", "business", "group:market",
      ("营业执照", "开公司", "注册公司", "办执照"), ("business licence", "start a company", "register a company")),
    S("company-change", "营业执照变更登记", "Business licence change", "business", "group:market",
      ("变更", "法人变更", "地址变更", "营业执照"), ("change", "business licence")),
    S("company-closure", "企业注销登记", "Company deregistration", "business", "group:market",
      ("注销公司", "公司注销"), ("close a company", "deregistration")),
    S("sole-trader", "个体工商户登记", "Sole trader registration", "business", "group:market",
      ("个体户", "个体执照"), ("sole trader", "self-employed")),
    S("food-licence", "食品经营许可", "Food business licence", "business", "group:market",
      ("食品许可证", "餐饮", "开饭店"), ("food licence", "restaurant")),
    S("invoices", "发票领用与代开", "Tax invoices: issue and collect", "tax", "group:tax",
      ("发票", "代开发票", "领发票"), ("fapiao", "invoice")),
    S("tax-registration", "税务登记与信息确认", "Tax registration", "tax", "group:tax",
      ("税务登记", "报税"), ("tax registration", "tax")),
    S("income-tax", "个人所得税汇算清缴", "Individual income tax settlement", "tax", "group:tax",
      ("个税", "退税", "汇算"), ("income tax", "tax refund")),
    S("marriage", "结婚登记", "Marriage registration", "civil", "windows:9",
      ("结婚", "结婚证", "领证"), ("marriage", "wedding")),
    S("divorce", "离婚登记", "Divorce registration", "civil", "windows:9", ("离婚",), ("divorce",)),
    S("disability-card", "残疾人证办理", "Disability certificate", "disability", "windows:10",
      ("残疾证", "残疾人证"), ("disability card", "disability certificate")),
    S("disability-allowance", "残疾人两项补贴申请", "Disability living and care allowances", "disability",
      "windows:10", ("残疾补贴", "护理补贴"), ("disability allowance",)),
    S("driving-licence", "驾驶证换证补证", "Driving licence renewal or replacement", "traffic", "windows:11",
      ("驾驶证", "驾照", "驾照到期", "换驾照"), ("driving licence", "driver's license")),
    S("vehicle-transfer", "机动车转移登记", "Vehicle ownership transfer", "traffic", "windows:11",
      ("车辆过户", "汽车过户"), ("car transfer", "vehicle")),
    S("traffic-fines", "交通违法处理与缴款", "Traffic violations and fines", "traffic", "zone:1f-self",
      ("违章", "罚款", "交罚款"), ("traffic ticket", "fine")),
    S("notary-certificates", "公证（学历、亲属关系等）", "Notarial certificates", "notary", "windows:12",
      ("公证", "公证书", "学历公证"), ("notary", "notarisation")),
    S("inheritance-notary", "继承公证", "Inheritance notarisation", "notary", "windows:12",
      ("继承", "遗产", "公证"), ("inheritance", "notary")),
    S("cross-province", "跨省通办业务", "Services across provinces", "general", "group:cross-province",
      ("跨省通办", "异地办理", "外省"), ("another province", "cross-province")),
    S("result-pickup", "办结证照领取", "Collect certificates and results", "general", "group:pickup",
      ("取件", "领证", "出件", "拿证"), ("pick up", "collect")),
    S("locker-pickup", "24小时自助取件", "24-hour pick-up lockers", "general", "zone:1f-24h",
      ("取件柜", "夜间取件"), ("lockers", "after hours")),
    S("self-service-printing", "自助打印证明（社保缴费、完税等）", "Self-service printing of certificates", "general",
      "zone:1f-self", ("打印", "缴费证明", "自助机"), ("print", "proof", "self-service")),
    S("copy-and-post", "复印与邮寄服务", "Copying and postal service", "general", "zone:1f-conv",
      ("复印", "邮寄", "快递", "寄件"), ("copy", "post", "courier")),
    S("consultation", "咨询导办", "Information and guidance", "general", "zone:1f-ent",
      ("咨询", "问询", "帮办", "代办"), ("help", "information", "guidance")),
    S("complaints", "办不成事反映与投诉", "Complaints and suggestions", "general", "zone:1f-ent",
      ("投诉", "建议", "差评"), ("complaint", "suggestion")),
)


def window_groups() -> list[dict[str, Any]]:
    return [{"id": gid, "name": names(zh, en), "zone": zone, "waiting_zone": waiting,
             "windows": FlowList(str(n) for n in numbers)}
            for gid, zh, en, zone, waiting, numbers, _ in WINDOW_GROUPS]  # fmt: skip


def ticket_services() -> list[dict[str, Any]]:
    return [Flow(id=gid, name=names(zh, en), prefix=prefix, group=gid)
            for gid, zh, en, _zone, _waiting, _numbers, prefix in WINDOW_GROUPS]  # fmt: skip


def categories() -> list[dict[str, Any]]:
    return [Flow(id=cid, name=names(zh, en)) for cid, zh, en in CATEGORIES]


def catalogue() -> list[dict[str, Any]]:
    """The service items as site.yaml data: where each one is handled, and its ticket where it takes one."""
    items: list[dict[str, Any]] = []
    for service in SERVICES:
        kind, _, where = service.at.partition(":")
        item: dict[str, Any] = {"id": service.id, "name": names(service.zh, service.en),
                                "category": service.category,
                                "keywords": Flow(zh=FlowList(service.keywords_zh), en=FlowList(service.keywords_en))}
        if kind == "group":
            item["window_group"] = where
            item["ticket_service"] = where
        elif kind == "windows":
            item["windows"] = FlowList(where.split(","))
            item["ticket_service"] = "integrated"
        else:
            item["zone"] = where
        items.append(item)
    return items
