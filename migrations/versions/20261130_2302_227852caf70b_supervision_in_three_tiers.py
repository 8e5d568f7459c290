"""Supervision in three tiers: campaigns and their checklists, the frozen population, the checks of
the three tiers with their evidence, the violation catalogue (seeded with the 两虚假、两出借 family and
the rest of the national campaign's list), findings, rectification, penalties, spot-check draws and
inspectors' declared conflicts.

Submitted records are append-only: the database refuses UPDATE, DELETE and TRUNCATE of them. A draw
is written at its commit and once more at its reveal; then the database refuses any change, and a
change to what the commit published at any time. Legal bases are seeded as text the bureau edits.

Revision ID: 227852caf70b
Revises: de1d81e5ef3f
Create Date: 2026-11-30 23:02:04.831347

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "227852caf70b"
down_revision = "de1d81e5ef3f"
branch_labels = None
depends_on = None

APPEND_ONLY = (
    "campaign_units",
    "findings",
    "inspection_check_files",
    "inspection_checks",
    "inspector_conflicts",
    "penalties",
    "rectifications",
)
# What a draw's commit published: never changed, revealed or not.
DRAW_COMMIT = (
    "campaign_id", "algorithm", "population", "population_sha256", "population_size", "quotas",
    "inspector_pool", "seed_source", "committed_at", "committed_by_id",
)

LAW_72 = "《中华人民共和国安全生产法》第七十二条"
LAW_92_1 = "《中华人民共和国安全生产法》第九十二条第一款"
LAW_92_2 = "《中华人民共和国安全生产法》第九十二条第二款"
LAW_92_3 = "《中华人民共和国安全生产法》第九十二条第三款"
RULES = "《安全评价检测检验机构管理办法》有关条款（条款序号以现行修订版本为准）"

# (code, title, description, severity, party, legal basis): the bureau edits these as data.
VIOLATIONS = [
    ("XJ-01", "出具虚假报告", "报告内容与事实不符、伪造数据或结论，或未开展实质工作即出具报告（两虚假之一）。",
     "grave", "agency", f"{LAW_72}；{LAW_92_2}；{LAW_92_3}；{RULES}"),
    ("XJ-02", "以虚假报告取得行政许可", "生产经营单位使用虚假的安全评价、检测检验报告申请或取得行政许可（两虚假之二）。",
     "grave", "enterprise", "《中华人民共和国行政许可法》第七十九条；《安全生产许可证条例》有关条款"),
    ("CJ-01", "机构出借（租借）资质", "机构出租、出借资质或允许他人挂靠其资质从业（两出借之一）。",
     "grave", "agency", f"{LAW_72}；{LAW_92_2}；{LAW_92_3}；{RULES}"),
    ("CJ-02", "从业人员出借资格证书", "安全评价师、检测检验人员出借资格证书或在两家以上机构从业（两出借之二）。",
     "serious", "person", f"{LAW_92_2}；{LAW_92_3}；{RULES}"),
    ("SS-01", "出具失实报告", "报告所述布局、工艺、周边环境与现场不符，遗漏或引用过时法规标准，未辨识重大危险源或遗漏重大事故隐患。",
     "serious", "agency", f"{LAW_92_1}；{RULES}"),
    ("XC-01", "未到现场开展工作", "项目负责人或评价、检测人员未到现场开展勘验、检测，或现场影像资料缺失、造假。",
     "grave", "agency", f"{LAW_72}；{LAW_92_2}；{RULES}"),
    ("GZ-01", "未按规定进行现场工作告知", "到现场开展工作前未按规定向项目所在地应急管理部门告知。",
     "minor", "agency", RULES),
    ("GZ-02", "从业人员挂靠（挂证）", "机构登记的专职人员未在本机构实际从业，或社会保险缴纳单位与机构不一致。",
     "serious", "agency", f"{LAW_72}；{RULES}"),
    ("CF-01", "超出资质认可范围从业", "机构在资质认可的业务范围以外开展安全评价或检测检验。",
     "serious", "agency", f"{LAW_72}；{RULES}"),
    ("SF-01", "收费不规范", "未按合同约定或公示标准收费，或以不正当低价、回扣等方式承揽业务。",
     "minor", "agency", "《中华人民共和国价格法》有关条款；" + RULES),
    ("GK-01", "报告未按规定公开", "未在机构网站公开报告及现场勘验图像等信息，或公开内容不完整。",
     "minor", "agency", f"{LAW_72}（服务公开和报告公开制度）；{RULES}"),
]


def upgrade():
    op.create_table('violations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('severity', sa.Enum('minor', 'serious', 'grave', name='violation_severity', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('party', sa.Enum('agency', 'enterprise', 'person', name='violation_party', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violations')),
    sa.UniqueConstraint('code', name=op.f('uq_violations_code'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('self_check_due', sa.Date(), nullable=False),
    sa.Column('recheck_due', sa.Date(), nullable=False),
    sa.Column('spot_check_due', sa.Date(), nullable=False),
    sa.Column('quota_kind', sa.Enum('size', 'rate', name='quota_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('quota_value', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('status', sa.Enum('draft', 'open', 'closed', name='campaign_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('population_size', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_campaigns_campaign_period')),
    sa.CheckConstraint('quota_value > 0', name=op.f('ck_campaigns_quota_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_campaigns_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_status'), ['status'], unique=False)

    op.create_table('campaign_categories',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_categories_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['category_id'], ['service_categories.id'], name=op.f('fk_campaign_categories_category_id_service_categories')),
    sa.PrimaryKeyConstraint('campaign_id', 'category_id', name=op.f('pk_campaign_categories'))
    )
    op.create_table('campaign_check_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('criterion', sa.String(length=20), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_check_items_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['category_id'], ['service_categories.id'], name=op.f('fk_campaign_check_items_category_id_service_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_check_items'))
    )
    with op.batch_alter_table('campaign_check_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_check_items_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('algorithm', sa.String(length=20), nullable=False),
    sa.Column('population', sa.LargeBinary(), nullable=False),
    sa.Column('population_sha256', sa.String(length=64), nullable=False),
    sa.Column('population_size', sa.Integer(), nullable=False),
    sa.Column('quotas', sa.JSON(), nullable=False),
    sa.Column('inspector_pool', sa.JSON(), nullable=False),
    sa.Column('seed_source', sa.Text(), nullable=False),
    sa.Column('committed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('committed_by_id', sa.Integer(), nullable=True),
    sa.Column('seed', sa.Text(), nullable=True),
    sa.Column('revealed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revealed_by_id', sa.Integer(), nullable=True),
    sa.Column('sample', sa.JSON(), nullable=True),
    sa.Column('inspectors', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_draws_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['committed_by_id'], ['users.id'], name=op.f('fk_draws_committed_by_id_users')),
    sa.ForeignKeyConstraint(['revealed_by_id'], ['users.id'], name=op.f('fk_draws_revealed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draws'))
    )
    with op.batch_alter_table('draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draws_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('inspector_conflicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_inspector_conflicts_inspector_id_users')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_inspector_conflicts_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspector_conflicts'))
    )
    with op.batch_alter_table('inspector_conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspector_conflicts_inspector_id'), ['inspector_id'], unique=False)

    op.create_table('campaign_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('engagement_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=120), nullable=False),
    sa.Column('stratum', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_units_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['category_id'], ['service_categories.id'], name=op.f('fk_campaign_units_category_id_service_categories')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_campaign_units_county_id_counties')),
    sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], name=op.f('fk_campaign_units_engagement_id_engagements')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_campaign_units_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_campaign_units_provider_id_providers')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_campaign_units_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_units')),
    sa.UniqueConstraint('campaign_id', 'engagement_id', name='uq_campaign_units_engagement'),
    sa.UniqueConstraint('campaign_id', 'unit', name='uq_campaign_units_unit')
    )
    with op.batch_alter_table('campaign_units', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_units_campaign_county', ['campaign_id', 'county_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_units_engagement_id'), ['engagement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_units_provider_id'), ['provider_id'], unique=False)

    op.create_table('inspection_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Enum('self', 'recheck', 'spot', name='check_tier', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('conclusion', sa.Enum('compliant', 'minor', 'non_compliant', name='check_conclusion', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('agrees_with_self_check', sa.Boolean(), nullable=True),
    sa.Column('inspectors', sa.JSON(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=True),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_inspection_checks_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_inspection_checks_county_id_counties')),
    sa.ForeignKeyConstraint(['draw_id'], ['draws.id'], name=op.f('fk_inspection_checks_draw_id_draws')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_inspection_checks_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['inspection_checks.id'], name=op.f('fk_inspection_checks_supersedes_id_inspection_checks')),
    sa.ForeignKeyConstraint(['unit_id'], ['campaign_units.id'], name=op.f('fk_inspection_checks_unit_id_campaign_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_checks'))
    )
    with op.batch_alter_table('inspection_checks', schema=None) as batch_op:
        batch_op.create_index('ix_inspection_checks_campaign_county', ['campaign_id', 'county_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_checks_draw_id'), ['draw_id'], unique=False)
        batch_op.create_index('ix_inspection_checks_supersedes', ['supersedes_id'], unique=False)
        batch_op.create_index('ix_inspection_checks_unit_tier', ['unit_id', 'tier'], unique=False)

    op.create_table('findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('violation_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('severity', sa.Enum('minor', 'serious', 'grave', name='finding_severity', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('party', sa.Enum('agency', 'enterprise', 'person', name='finding_party', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('staff_member_id', sa.Integer(), nullable=True),
    sa.Column('person_name', sa.String(length=50), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('rectification_due', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_findings_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['check_id'], ['inspection_checks.id'], name=op.f('fk_findings_check_id_inspection_checks')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_findings_county_id_counties')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_findings_created_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_findings_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_findings_provider_id_providers')),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_findings_staff_member_id_staff_members')),
    sa.ForeignKeyConstraint(['unit_id'], ['campaign_units.id'], name=op.f('fk_findings_unit_id_campaign_units')),
    sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], name=op.f('fk_findings_violation_id_violations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings'))
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_campaign_county', ['campaign_id', 'county_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_check_id'), ['check_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_unit_id'), ['unit_id'], unique=False)

    op.create_table('inspection_check_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['check_id'], ['inspection_checks.id'], name=op.f('fk_inspection_check_files_check_id_inspection_checks')),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_inspection_check_files_file_id_stored_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_check_files'))
    )
    with op.batch_alter_table('inspection_check_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_check_files_check_id'), ['check_id'], unique=False)

    op.create_table('penalties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.Enum('agency', 'enterprise', 'person', name='penalty_target', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('staff_member_id', sa.Integer(), nullable=True),
    sa.Column('target_name', sa.String(length=200), nullable=False),
    sa.Column('decision_no', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.Enum('warning', 'fine', 'confiscation', 'suspension', 'revocation', 'market_ban', name='penalty_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('fine_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('confiscated_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('publicity_start', sa.Date(), nullable=False),
    sa.Column('publicity_end', sa.Date(), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('confiscated_amount IS NULL OR confiscated_amount >= 0', name=op.f('ck_penalties_confiscated_not_negative')),
    sa.CheckConstraint('fine_amount IS NULL OR fine_amount >= 0', name=op.f('ck_penalties_fine_not_negative')),
    sa.CheckConstraint('publicity_end >= publicity_start', name=op.f('ck_penalties_publicity_period')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_penalties_county_id_counties')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_penalties_created_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_penalties_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_penalties_finding_id_findings')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_penalties_provider_id_providers')),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_penalties_staff_member_id_staff_members')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['penalties.id'], name=op.f('fk_penalties_supersedes_id_penalties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_penalties'))
    )
    with op.batch_alter_table('penalties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_penalties_county_id'), ['county_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_penalties_finding_id'), ['finding_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_penalties_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index('ix_penalties_publicity', ['publicity_start', 'publicity_end'], unique=False)
        batch_op.create_index('ix_penalties_supersedes', ['supersedes_id'], unique=False)

    op.create_table('rectifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Enum('submitted', 'accepted', 'returned', name='rectification_step', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_rectifications_actor_id_users')),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_rectifications_file_id_stored_files')),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_rectifications_finding_id_findings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectifications'))
    )
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectifications_finding_id'), ['finding_id'], unique=False)



    violations = sa.table(
        "violations", sa.column("code"), sa.column("title"), sa.column("description"), sa.column("severity"),
        sa.column("party"), sa.column("legal_basis"), sa.column("sort_order"), sa.column("active"),
        sa.column("version"),
    )
    op.bulk_insert(violations, [
        {"code": code, "title": title, "description": text, "severity": severity, "party": party,
         "legal_basis": basis, "sort_order": (i + 1) * 10, "active": True, "version": 1}
        for i, (code, title, text, severity, party, basis) in enumerate(VIOLATIONS)
    ])
    _guards()


def _postgres():
    return op.get_bind().dialect.name == "postgresql"


def _guards():
    if _postgres():
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION forbid_change()"
            )
        for table in (*APPEND_ONLY, "draws"):
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()"
            )
        op.execute("CREATE TRIGGER draws_no_delete BEFORE DELETE ON draws FOR EACH ROW EXECUTE FUNCTION forbid_change()")
        changed = " OR ".join(f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" for c in DRAW_COMMIT)
        op.execute(
            "CREATE TRIGGER draws_sealed BEFORE UPDATE ON draws FOR EACH ROW "
            f"WHEN (OLD.revealed_at IS NOT NULL OR {changed}) EXECUTE FUNCTION forbid_change()"
        )
    else:
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        op.execute("CREATE TRIGGER draws_no_delete BEFORE DELETE ON draws BEGIN SELECT RAISE(ABORT, 'draws are never deleted'); END")
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in DRAW_COMMIT)
        op.execute(
            f"CREATE TRIGGER draws_sealed BEFORE UPDATE ON draws WHEN OLD.revealed_at IS NOT NULL OR {changed} "
            "BEGIN SELECT RAISE(ABORT, 'a draw is sealed once revealed; its commit never changes'); END"
        )


def downgrade():
    if _postgres():  # dropping a table drops its triggers; only these need their own words
        for table in (*APPEND_ONLY, "draws"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectifications_finding_id'))

    op.drop_table('rectifications')
    with op.batch_alter_table('penalties', schema=None) as batch_op:
        batch_op.drop_index('ix_penalties_supersedes')
        batch_op.drop_index('ix_penalties_publicity')
        batch_op.drop_index(batch_op.f('ix_penalties_provider_id'))
        batch_op.drop_index(batch_op.f('ix_penalties_finding_id'))
        batch_op.drop_index(batch_op.f('ix_penalties_county_id'))

    op.drop_table('penalties')
    with op.batch_alter_table('inspection_check_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_check_files_check_id'))

    op.drop_table('inspection_check_files')
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_findings_unit_id'))
        batch_op.drop_index(batch_op.f('ix_findings_provider_id'))
        batch_op.drop_index(batch_op.f('ix_findings_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_findings_check_id'))
        batch_op.drop_index('ix_findings_campaign_county')

    op.drop_table('findings')
    with op.batch_alter_table('inspection_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_inspection_checks_unit_tier')
        batch_op.drop_index('ix_inspection_checks_supersedes')
        batch_op.drop_index(batch_op.f('ix_inspection_checks_draw_id'))
        batch_op.drop_index('ix_inspection_checks_campaign_county')

    op.drop_table('inspection_checks')
    with op.batch_alter_table('campaign_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_units_provider_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_units_engagement_id'))
        batch_op.drop_index('ix_campaign_units_campaign_county')

    op.drop_table('campaign_units')
    with op.batch_alter_table('inspector_conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspector_conflicts_inspector_id'))

    op.drop_table('inspector_conflicts')
    with op.batch_alter_table('draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draws_campaign_id'))

    op.drop_table('draws')
    with op.batch_alter_table('campaign_check_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_check_items_campaign_id'))

    op.drop_table('campaign_check_items')
    op.drop_table('campaign_categories')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_status'))

    op.drop_table('campaigns')
    op.drop_table('violations')
