"""Every label the console shows, in Chinese first and English; the viewer's language.

A viewer picks the language with `?lang=en` (or `zh`), which a cookie then remembers.
A key missing from a language is a bug that the tests catch: both columns must be full.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

from starlette.requests import Request

Lang = Literal["zh", "en"]
LANGUAGES: tuple[Lang, ...] = get_args(Lang)
LANG_COOKIE = "quhua_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (中文, English)
    "product": ("区划统计控制台", "Quhua console"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "token": ("访问令牌", "Access token"),
    "token_hint": (
        "粘贴管理员发给你的 Quhua 令牌（以 qh_ 开头）。",
        "Paste the Quhua token your administrator gave you (it starts with qh_).",
    ),
    "token_missing": ("请填写访问令牌。", "Enter an access token."),
    "token_refused": ("令牌无效或已过期。", "The token is invalid or has expired."),
    "session_ended": ("登录已失效，请重新登录。", "Your session has ended: sign in again."),
    "csrf_refused": (
        "表单已过期或来源不明，请刷新页面后重试。",
        "The form has expired or did not come from this page: reload it and try again.",
    ),
    "signed_in_as": ("当前用户", "Signed in as"),
    "language": ("语言", "Language"),
    "dashboard": ("总览", "Dashboard"),
    "unit": ("单位", "Unit"),
    "search": ("搜索单位", "Find a unit"),
    "search_hint": ("名称或代码", "name or code"),
    "search_none": ("没有找到匹配的单位。", "No unit matches."),
    "go": ("查看", "Show"),
    "period": ("期间", "Period"),
    "year": ("年", "Year"),
    "period_kind": ("期间类型", "Period type"),
    "kind_year": ("全年", "Whole year"),
    "kind_fp": ("统计年度", "Statistical year"),
    "kind_quarter": ("季度", "Quarter"),
    "kind_month": ("月份", "Month"),
    "quarter": ("季度", "Quarter"),
    "month": ("月", "Month"),
    "below": ("下级单位", "Units one level down"),
    "grid": ("指标", "Indicators"),
    "completeness": ("上报/应报", "reported/expected"),
    "completeness_note": (
        "每个数字下的小字：已上报的单位数/应上报的单位数。",
        "Under each figure: units that reported / units expected to.",
    ),
    "no_value": ("无数据", "no data"),
    "more_rows": ("仅显示前 {shown} 个，共 {total} 个单位。", "Showing {shown} of {total} units."),
    "chart": ("趋势", "Trend"),
    "treemap": ("人口与指标", "Population and indicator"),
    "treemap_title": (
        "面积：常住人口 · 颜色：{indicator}",
        "Area: population · colour: {indicator}",
    ),
    "treemap_note": (
        "每块的面积是该单位的常住人口，颜色深浅是{indicator}；灰色为无数据。点击进入该单位。",
        "Each block's area is the unit's resident population, its colour {indicator}; grey "
        "has no figure. Click a block to open its unit.",
    ),
    "population": ("常住人口", "Population"),
    "map": ("地图", "Map"),
    "indicator": ("指标", "Indicator"),
    "this_year": ("{year}年", "{year}"),
    "fp_year": ("{year} 统计年度", "statistical year {year}"),
    "refused": ("无权查看", "Not allowed"),
    "not_found": ("没有这个单位", "No such unit"),
    "bad_input": ("请求有误", "Bad request"),
    "failed": ("出错了", "Something went wrong"),
    "no_grants": (
        "你的令牌没有任何授权：请联系管理员。",
        "Your token holds no grants: ask your administrator.",
    ),
    "no_catalogue": (
        "尚未载入指标目录：请运营人员执行 quhua catalogue load。",
        "No catalogue is loaded yet: the operator runs quhua catalogue load.",
    ),
    "bad_period": (
        "期间有误：年份须为四位数字，季度为 Q1–Q4，月份为 01–12。",
        "Bad period: the year has four digits, a quarter is Q1–Q4, a month 01–12.",
    ),
    "bad_code": (
        "单位代码须为 2、4、6、9 或 12 位数字。",
        "A unit's code has 2, 4, 6, 9 or 12 digits.",
    ),
    "graphiql": ("GraphQL 接口", "GraphQL API"),
    "level_PROVINCE": ("省", "province"),
    "level_CITY": ("市", "city"),
    "level_COUNTY": ("县", "county"),
    "level_TOWNSHIP": ("乡", "township"),
    "level_VILLAGE": ("村", "village"),
    "reporting": ("上报情况", "Reporting status"),
    "download_csv": ("下载 CSV（Excel 可直接打开）", "Download CSV (opens in Excel)"),
    "reports_of": ("查看哪一级的报表", "Reports of"),
    "expected": ("应报", "Expected"),
    "submitted": ("已报", "Submitted"),
    "on_time": ("按时", "On time"),
    "late": ("迟报", "Late"),
    "missing": ("未报", "Missing"),
    "returned": ("退回", "Returned"),
    "completeness_rate": ("上报率", "Completeness"),
    "timeliness": ("及时率", "Timeliness"),
    "missingUnits": ("未报单位", "Units that have not reported"),
    "lateUnits": ("迟报单位", "Units that reported late"),
    "returnedUnits": ("被退回的单位", "Units whose report was returned"),
    "state_SUBMITTED": ("已上报", "submitted"),
    "state_RETURNED": ("已退回", "returned"),
    "state_REOPENED": ("已重新打开", "reopened"),
    "more_follow_ups": (
        "只列出前 50 个；其余请用 GraphQL 接口分页查询。",
        "Only the first 50 are listed; page through the rest with the GraphQL API.",
    ),
    "none_to_follow_up": ("没有。", "None."),
    "bad_level": (
        "级别须为该单位本级或以下：province、city、county、township 或 village。",
        "The level is the unit's own or one below it: province, city, county, township or village.",
    ),
    "entry": ("数据录入", "Data entry"),
    "approval": ("审核", "Approval"),
    "report": ("月报", "Report"),
    "not_submitted": ("未上报", "not submitted"),
    "last_submitted": ("最近上报", "last submitted"),
    "returned_because": ("退回", "returned"),
    "approval_NOT_APPROVING": ("未审核（本级不审核）", "not approved (not at this level)"),
    "single_elements": ("单项数据", "Single values"),
    "approval_WAITING": ("等待下级上报", "waiting for units below"),
    "approval_READY": ("待审核", "ready for approval"),
    "approval_APPROVED_HERE": ("本级已审核", "approved here"),
    "approval_APPROVED_ABOVE": ("上级已审核", "approved above"),
    "locked": (
        "本月数据已审核锁定；如需更正，请联系上级退回或重新打开。",
        "This month is approved and locked: to correct it, ask a level above to reopen it.",
    ),
    "read_only": (
        "你没有本单位的填报权限，只能查看。",
        "You may not report for this unit: read only.",
    ),
    "saved": ("已保存 {count} 项。", "Saved {count} values."),
    "report_submitted": ("月报已上报。", "The report is submitted."),
    "resubmitted": ("月报已重新上报。", "The report is submitted again."),
    "nothing_saved": ("没有保存任何数据：", "Nothing was saved:"),
    "inputs_refused": (
        "{count} 项被拒绝，见各项下的说明。",
        "{count} values were refused: see each.",
    ),
    "violations": ("以下校验规则未通过（警告）：", "These validation rules fail (warnings):"),
    "yuan": ("元", "yuan"),
    "reason": ("修改原因", "Reason"),
    "reason_hint": ("更正或删除已有数据时必填", "required to correct or delete a stored value"),
    "reason_required": (
        "更正或删除已有数据时请填写修改原因。",
        "Give a reason to correct or delete a stored value.",
    ),
    "entry_reason": ("控制台录入月报", "monthly report entered in the console"),
    "save": ("保存", "Save"),
    "comment": ("上报说明", "Comment"),
    "submit_report": ("上报本月月报", "Submit this month's report"),
    "submit_hint": (
        "上报后数据进入审核；审核前仍可更正。",
        "Once submitted the values go into review; they can be corrected until approved.",
    ),
    "nothing_to_enter": (
        "本单位本月没有需要填报的数据项。",
        "This unit has no data elements to report for this month.",
    ),
    "recent_changes": ("最近修改", "Recent changes"),
    "when": ("时间", "When"),
    "who": ("修改人", "Who"),
    "what": ("数据项", "What"),
    "old_value": ("原值", "Old"),
    "new_value": ("新值", "New"),
    "not_a_number": ("“{text}”不是数字", "{text!r} is not a number"),
    "changed_meanwhile": (
        "你打开页面后此项已被他人改为 {value}，请刷新后再删除。",
        "Someone changed this to {value} since you opened the page: reload before deleting.",
    ),
    "no_approval_here": (
        "村级单位不审核：请选择乡级或以上单位。",
        "Villages do not approve: choose a township or a unit above.",
    ),
    "bad_act": ("不认识的操作：{act}", "Unknown act: {act}"),
    "waiting_for": ("还在等待 {count} 个下级单位：", "Waiting for {count} units below:"),
    "approve": ("审核通过", "Approve"),
    "withdraw": ("撤销审核", "Withdraw approval"),
    "return": ("退回修改", "Return for correction"),
    "optional": ("可不填", "optional"),
    "act_reason": ("原因", "Reason"),
    "may_not_approve": (
        "你没有本单位的审核权限，只能查看。",
        "You may not approve here: read only.",
    ),
    "acts": ("操作", "Acts"),
    "done_approve": ("已审核通过", "Approved"),
    "done_withdraw": ("已撤销审核", "Approval withdrawn"),
    "done_return": ("已退回修改", "Returned for correction"),
    "needs_report": ("月报未上报", "its report"),
    "needs_approval": ("尚未审核", "its approval"),
    "upload_file": ("上传数据文件", "Upload a values file"),
    "upload": ("上传", "Upload"),
    "upload_hint": (
        "CSV、DHIS2 dataValueSets（JSON）或 ADX（XML），可为 .gz；整个文件全部导入或全部不导入。",
        "CSV, DHIS2 dataValueSets (JSON) or ADX (XML), gzipped or not; all of it or none.",
    ),
    "dry_run": ("只检查不导入", "check only"),
    "import_of": ("文件 {name}", "File {name}"),
    "import_counts": (
        "{rows} 行，新增 {inserted}，修改 {updated}，未变 {unchanged}",
        "{rows} rows: {inserted} new, {updated} changed, {unchanged} unchanged",
    ),
    "import_written": ("已导入。", "Imported."),
    "import_dry_run_kept": ("检查通过，未导入任何数据。", "It checks out; nothing was imported."),
    "import_refused": (
        "有 {count} 处错误，整个文件未导入：",
        "{count} errors: nothing of the file was imported:",
    ),
    "import_more_errors": ("只列出前 {shown} 处。", "Only the first {shown} are listed."),
    "import_violations": (
        "导入后有 {count} 条校验规则未通过（警告）。",
        "{count} validation rules fail after the import (warnings).",
    ),
    "whole_file": ("整个文件", "the file"),
    "admin": ("管理", "Administration"),
    "grants": ("授权", "Grants"),
    "tokens": ("令牌", "Tokens"),
    "under_unit": ("单位及下级", "Unit and below"),
    "field_subject": ("用户", "Subject"),
    "field_kind": ("类型", "Kind"),
    "field_role": ("角色", "Role"),
    "field_unit": ("单位代码", "Unit code"),
    "field_reason": ("原因", "reason"),
    "fields_missing": ("请填写：{fields}", "Fill in: {fields}"),
    "kind_PERSON": ("个人", "person"),
    "kind_SERVICE": ("系统", "service"),
    "grant_role": ("授予角色", "Grant a role"),
    "grant": ("授权", "Grant"),
    "revoke": ("撤销", "Revoke"),
    "done_grant": ("已授权", "Granted"),
    "done_revoke": ("已撤销授权", "Revoked"),
    "granted_at": ("授权时间", "Granted"),
    "policy_audit": ("权限变更记录", "Policy audit"),
    "policy_GRANT": ("授权", "grant"),
    "policy_REVOKE": ("撤销授权", "revoke"),
    "policy_TOKEN_CREATE": ("创建令牌", "token created"),
    "policy_TOKEN_REVOKE": ("撤销令牌", "token revoked"),
    "policy_ROLE_DEFINE": ("定义角色", "role defined"),
    "policy_ROLE_UPDATE": ("修改角色", "role changed"),
    "policy_ROLE_RETIRE": ("停用角色", "role retired"),
    "create_token": ("创建令牌", "Create a token"),
    "token_created": ("新令牌：", "The new token:"),
    "token_once": (
        "只显示这一次：请现在复制并交给使用者。",
        "Shown this once only: copy it now and hand it over.",
    ),
    "token_for_other": (
        "为他人创建的令牌最长 7 天，只能访问你在那里能访问的范围。",
        "A token for someone else lasts 7 days at most and reaches only what yours does there.",
    ),
    "token_revoked": ("令牌已撤销。", "The token is revoked."),
    "valid_days": ("有效天数", "Valid for days"),
    "label": ("备注", "Label"),
    "token_prefix": ("令牌开头", "Token"),
    "created_at": ("创建时间", "Created"),
    "expires": ("到期", "Expires"),
    "last_used": ("最近使用", "Last used"),
    "issued_by": ("签发人", "Issued by"),
    "limited": ("受限", "limited"),
    "revoked_at": ("已撤销", "revoked"),
    "assessment": ("考核", "Assessment"),
    "quality": ("数据质量", "Data quality"),
    "score": ("得分", "Score"),
    "grade": ("等级", "Grade"),
    "grade_reason": ("说明", "Why"),
    "grade_COMMENDED": ("优秀", "commended"),
    "grade_PASSED": ("合格", "passed"),
    "grade_FAILED": ("不合格", "failed"),
    "grade_VETOED": ("一票否决", "vetoed"),
    "basis_ALL_DATA": ("按全部数据", "on all data"),
    "basis_APPROVED_DATA": ("按已审核数据", "on approved data"),
    "target": ("目标", "Target"),
    "actual": ("实际", "Actual"),
    "margin": ("差距", "Margin"),
    "weight": ("权重", "Weight"),
    "met": ("达标", "Met"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "veto": ("否决项", "veto"),
    "bound_AT_MOST": ("不高于", "at most"),
    "bound_AT_LEAST": ("不低于", "at least"),
    "no_targets": ("本单位本年度没有考核目标。", "This unit has no targets for the year."),
    "no_targets_short": ("无目标", "no targets"),
    "ranking": ("排名", "Ranking"),
    "rank": ("名次", "Rank"),
    "outliers": ("异常值", "Outliers"),
    "outliers_note": (
        "与本单位自身历史相比偏离较大的数值（修正 Z 分数），请核实。",
        "Values far from the unit's own history (modified z-score): check them.",
    ),
    "value": ("数值", "Value"),
    "median": ("历史中位数", "History median"),
    "outlier_score": ("偏离分数", "Score"),
    "severity": ("程度", "Severity"),
    "severity_MODERATE": ("中度", "moderate"),
    "severity_EXTREME": ("严重", "extreme"),
    "validation_violations": ("校验未通过", "Validation violations"),
    "rule": ("规则", "Rule"),
    "left_value": ("左值", "Left"),
    "right_value": ("右值", "Right"),
    "importance": ("重要性", "Importance"),
    "importance_LOW": ("低", "low"),
    "importance_MEDIUM": ("中", "medium"),
    "importance_HIGH": ("高", "high"),
}


def language(request: Request) -> Lang:
    """The viewer's language: `?lang=`, else the cookie, else Chinese."""
    for asked in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        for lang in LANGUAGES:
            if asked == lang:
                return lang
    return "zh"


def translator(lang: Lang) -> Callable[..., str]:
    """`t(key, **fields)`: the label in the language, its {fields} filled in."""
    column = LANGUAGES.index(lang)

    def t(key: str, **fields: object) -> str:
        text = MESSAGES[key][column]
        return text.format(**fields) if fields else text

    return t
