"""The portal's education pages as the project ships them: each page's first version, written by the KetaClinic
project in plain words from the seed article (the project's reference seed-article.txt: its facts, never its
sentences) and the evidence it cites, and from clinical.md. Every statement is traceable to a source listed at the
bottom of its page; no number appears that those sources do not give. The clinic reviews, edits and approves each
page (a prescriber) before patients see it.
"""

from __future__ import annotations

#: Shown with every shipped version.
SHIPPED_NOTE = ("Written by the KetaClinic project from the seed article, the studies it cites and clinical.md; "
                "to be reviewed, edited and approved by the clinic before patients see it.")

SEED = "Seed article: a patient-facing overview of ketamine therapy (the project's starting text), and its references"
SINGH = ("Singh JB et al. IV ketamine in treatment-resistant depression, twice or three times weekly. Am J Psychiatry "
         "2016;173(8):816-826. https://doi.org/10.1176/appi.ajp.2016.16010037")
FAVA = ("Fava M et al. Dose-ranging trial of IV ketamine in treatment-resistant depression. Mol Psychiatry "
        "2020;25(7):1592-1603. https://doi.org/10.1038/s41380-018-0256-5")
FEDER21 = ("Feder A et al. Repeated ketamine for chronic PTSD. Am J Psychiatry 2021;178(2):193-202. "
           "https://doi.org/10.1176/appi.ajp.2020.20050596")
KRYSTAL = ("Krystal JH et al. Ketamine: a paradigm shift for depression research and treatment. Neuron "
           "2019;101(5):774-778. https://doi.org/10.1016/j.neuron.2019.02.005")
INGRAM = ("Ingram R et al. Ketamine and NMDA receptor-mediated synaptic plasticity. Neuropharmacology "
          "2018;142:30-40. https://doi.org/10.1016/j.neuropharm.2018.06.008")
FDA = ("US FDA press announcement, 2019: esketamine nasal spray approved for treatment-resistant depression, "
       "available only at a certified doctor's office or clinic")
LABEL = "SPRAVATO (esketamine) US Prescribing Information and its REMS (clinical.md §3b, §3c)"
ESCORT = "clinical.md §1 'Escort / driving' row (esketamine label; IV/IM clinics apply the same rule)"
PREP = "clinical.md §3b 'Patient preparation' row (spravato.com; mayoclinic.org)"
SZARMACH = ("Szarmach J et al. Blood pressure and heart rate after ketamine infusion. Neuropsychiatr Dis Treat 2020. "
            "https://doi.org/10.2147/NDT.S273287 (clinical.md §1)")
CONTRA = "clinical.md §2 'Contraindications and precautions' (esketamine label; consensus statement)"
GFE = "45 CFR 149.610: Good Faith Estimates for uninsured and self-pay patients"

PAGES: tuple[dict, ...] = (
    {
        "slug": "what-is-ketamine-therapy",
        "title": "What is ketamine therapy?",
        "body": """Ketamine is a medicine that has been used for anaesthesia for more than 50 years: the FDA approved it as an anaesthetic in 1970. At much lower doses than in an operating room, it is used to treat depression and some other mood conditions when other treatments have not helped.

## Two kinds of treatment at this clinic
- **Ketamine** given into a vein (an infusion) or into a muscle (an injection). Using it for depression is "off-label": the law lets a licensed prescriber use an approved medicine this way.
- **Esketamine nasal spray** (Spravato), approved by the FDA in 2019 for treatment-resistant depression. It is only given at a certified clinic, under a safety programme called the REMS, and never taken home.

## What the studies found
- In a trial of people with treatment-resistant depression, ketamine infusions twice or three times a week improved depression more than a placebo after about two weeks.
- In a trial that compared doses, 0.5 mg/kg and 1.0 mg/kg worked better than a placebo; most of the effect was seen the day after the infusion.
- In people with long-lasting PTSD, six infusions over two weeks improved symptoms more than a comparison medicine.
- Improvement can come within one to three days, much sooner than the weeks ordinary antidepressants can take. Without further doses the effect often fades.

## What it is not
Ketamine does not work for everyone, and it is not a cure-all. It works best as one part of your care, together with other treatment such as therapy. How it works is not fully known; one idea is that it blocks NMDA receptors in the brain, which changes glutamate signalling and helps brain cells form new connections.

Ketamine is a Schedule III controlled substance: only a licensed clinician may prescribe and give it. Used outside medical care it can lead to dependence and harm the bladder and kidneys.""",
        "sources": "\n".join([SEED, FDA, LABEL, SINGH, FAVA, FEDER21, KRYSTAL, INGRAM]),
    },
    {
        "slug": "before-during-after",
        "title": "What to expect before, during and after a session",
        "body": """## Before your first session
You meet a prescriber for a consultation. They check whether ketamine or esketamine is right for you, and go through your health, your medicines and any reasons not to use it.

## On the day
- Your blood pressure and heart rate are checked before the dose.
- **Esketamine nasal spray:** do not eat for 2 hours before, and do not drink anything (water included) for 30 minutes before. If you use a nasal steroid or decongestant spray, use it at least 1 hour before.
- **Ketamine infusion or injection:** follow the eating and drinking instructions the clinic gives you; call if you are not sure.
- **Bring someone to take you home.** You must not leave alone, and you must not drive.

## During the session
You are in a quiet, private room. Many people find dim light and calm music help them settle: what you bring to the session (your mindset) and the room around you (the setting) both shape the experience.
- **Infusion:** the medicine runs into a vein through a drip; in the main studies an infusion lasted 40 minutes.
- **Injection:** the medicine is injected into a muscle.
- **Esketamine:** you use the nasal spray yourself while a clinician watches, waiting 5 minutes between devices.
Staff check your blood pressure, breathing and oxygen level during the session.

You may feel detached from yourself or your surroundings, drowsy, or notice changes in what you see and hear. Some people feel calm; some feel uneasy or sick. In the esketamine studies, 48 to 61 in every 100 people felt sedated, and 61 to 75 in every 100 felt detached or noticed changes in perception. Blood pressure often rises for a while after esketamine: the rise is highest about 40 minutes after the dose and can last about 4 hours.

## After the session
- **Esketamine:** you stay at the clinic for at least 2 hours after the dose, as the REMS requires; then a clinician checks that you are stable enough to leave.
- **Ketamine:** you stay until a clinician judges you have returned to your usual self. In one study blood pressure and heart rate were back to their starting values within about 90 minutes after the infusion.
- Someone must drive you home. Do not drive or use machinery until the next day, after a restful sleep.""",
        "sources": "\n".join([SEED, PREP, ESCORT, LABEL, SINGH, SZARMACH,
                              "clinical.md §1 'Vitals: what' row (consensus statement as summarised; status S)"]),
    },
    {
        "slug": "aftercare-and-integration",
        "title": "Aftercare and integration",
        "body": """## The rest of the day
- Plan to rest for the remainder of the day.
- Someone should stay with you or nearby for the rest of the day.
- Do not drive or use machinery until the next day, after a restful sleep.
- Call the clinic if anything worries you.

## Integration
Integration sessions are time with a therapist after a dosing session, to talk through what you experienced and to hold on to any insights. Integration is an important part of this kind of therapy. The clinic offers you an integration session in the days after a dosing session; you can see and book your visits under My appointments.

## Keeping track
The clinic asks you to fill in short questionnaires (for example about mood) in the portal. They show you and your care team how you are doing over time and help decide about further sessions. The effect of a course of treatment can fade: in one study of people with PTSD, the benefit lasted a median of about four weeks after the course ended. Your prescriber talks with you about whether and when to have more sessions.

## If you feel unsafe
If you have thoughts of harming yourself, call or text 988 (Suicide & Crisis Lifeline) at any time, or call 911 in an emergency. Get help now in the menu lists these numbers and the clinic's.""",
        "sources": "\n".join([SEED, ESCORT, FEDER21,
                              "KetaClinic discharge instructions (ketaclinic/clinical/preparation.py, from clinical.md §1)",
                              "KetaClinic integration offer after a dosing session (ketaclinic/integration, issue 3)"]),
    },
    {
        "slug": "costs",
        "title": "Costs",
        "body": """Health insurance usually does not cover ketamine infusions for depression, because this use is off-label. The cost depends on the dose, how often you have sessions, and where you are treated.

## What this clinic charges
Your clinic's prices and any packages it offers are on **My bills**, with your invoices and receipts.

## Your right to a Good Faith Estimate
If you pay for yourself or have no insurance, you have the right to a Good Faith Estimate: a written estimate of what your care is expected to cost, given before your care. Ask the front desk, or find the estimates the clinic has issued you on My bills.""",
        "sources": "\n".join([SEED, GFE]),
    },
    {
        "slug": "questions",
        "title": "Frequently asked questions",
        "body": """## Am I able to have ketamine therapy?
A prescriber decides with you at your consultation. It is usually for people with a diagnosed mood condition whose symptoms have not improved with other treatment. Some conditions rule it out, such as certain blood-vessel problems (an aneurysm), a past bleed in the brain, or an allergy to ketamine or esketamine. Others, such as a history of psychosis, substance use, or heart and blood-pressure problems, need careful thought first. It should be avoided in pregnancy and while breastfeeding.

## What does it feel like?
It differs from person to person. Many people feel detached or dreamlike, relaxed or sleepy, and notice changes in what they see and hear. Some feel uneasy or sick. These effects pass as the medicine wears off.

## How many sessions will I have?
Your prescriber decides. In the studies, ketamine infusions were given twice or three times a week for up to four weeks, or six infusions over two weeks. Esketamine starts twice a week for four weeks, then once a week for four weeks, then every week or every two weeks.

## Can I drive home?
No. Someone must take you home, and you must not drive or use machinery until the next day, after a restful sleep.

## Can I book my treatment sessions in the portal?
You can book follow-up and integration visits under My appointments. Dosing sessions follow your prescriber's signed treatment order, which sets how far apart they must be, so the clinic books them with you.

## Is ketamine addictive?
Ketamine can be misused, and regular use outside medical care can lead to dependence and to harm to the bladder and kidneys. At the clinic it is given only under supervision, and your prescriber watches for any sign of misuse.""",
        "sources": "\n".join([SEED, CONTRA, SINGH, FEDER21, LABEL, ESCORT,
                              "KetaClinic self-scheduling (ketaclinic/scheduling/selfbooking.py)"]),
    },
)
