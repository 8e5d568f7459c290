"""The checklist a new campaign starts from, per kind of work. Campaign items are data the city edits
before the campaign opens; these are only the first draft, drawn from the national criteria for
misleading (失实) and false (虚假) evaluation and testing reports and the 2021 campaign's list."""

from marketplace.reference.models import ASSESSMENT

FALSE, MISLEADING, OTHER = "false", "misleading", "other"
CRITERIA = (FALSE, MISLEADING, OTHER)

ASSESSMENT_ITEMS = [
    ("报告所述总平面布置、工艺流程、周边环境与现场实际一致", MISLEADING),
    ("引用的法律法规、标准规范齐全且现行有效，无遗漏或已废止条款", MISLEADING),
    ("重大危险源辨识完整、准确，辨识依据与计算过程正确", MISLEADING),
    ("现场发现的重大事故隐患已全部写入报告，未遗漏", MISLEADING),
    ("检测检验数据、现场记录、影像资料真实，无伪造、篡改", FALSE),
    ("项目负责人及报告署名人员到现场开展工作，有现场影像与签到记录", FALSE),
    ("未隐瞒现场发现的事故隐患或不符合项", FALSE),
    ("到现场开展工作前已按规定向属地应急管理部门告知", OTHER),
    ("参与项目的人员为本机构专职人员并持证上岗，无挂靠、挂证", OTHER),
    ("报告及现场勘验图像已在机构网站按规定公开", OTHER),
    ("收费符合合同约定与公示标准", OTHER),
]
TESTING_ITEMS = [
    ("检测仪器设备在检定、校准有效期内，使用记录完整", FALSE),
]
ADVISORY_ITEMS = [
    ("服务内容与合同约定一致，工作记录、现场资料完整", MISLEADING),
    ("提出的隐患与整改建议有现场依据，未遗漏重大事故隐患", MISLEADING),
    ("参与项目的人员为本机构人员并具备相应能力", OTHER),
    ("收费符合合同约定与公示标准", OTHER),
]


def template_for(category):
    """The draft items for a category: (text, criterion) pairs."""
    if category.engagement_kind == ASSESSMENT:
        group = category.parent.code if category.parent is not None else ""
        return ASSESSMENT_ITEMS + (TESTING_ITEMS if group == "inspection_testing" else [])
    return ADVISORY_ITEMS
