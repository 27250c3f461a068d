{#- Assign each row of `relation` a split by its as_of:
      score   - the label window has not closed yet (mature_col is false): only ever scored;
      test    - the last `test_periods` mature as_of dates;
      valid   - the `valid_periods` mature as_of dates that end at least `embargo_days` before test;
      train   - every mature as_of at least `embargo_days` before the first valid as_of;
      embargo - the rest: as_of dates whose label windows would reach into the next split.
    With embargo_days >= the label horizon no label window crosses a split boundary. -#}
{% macro time_split(relation, as_of_col, mature_col, embargo_days, valid_periods=3, test_periods=3) -%}
    {{ return(adapter.dispatch('time_split', 'mlmodels')(
        relation, as_of_col, mature_col, embargo_days, valid_periods, test_periods)) }}
{%- endmacro %}

{% macro default__time_split(relation, as_of_col, mature_col, embargo_days, valid_periods, test_periods) -%}
with mature_periods as (
    select
        {{ as_of_col }} as as_of,
        row_number() over (order by {{ as_of_col }} desc) as periods_from_end
    from (select distinct {{ as_of_col }} from {{ relation }} where {{ mature_col }}) as mature
),

test_bound as (
    select min(as_of) as test_start
    from mature_periods
    where periods_from_end <= {{ test_periods }}
),

valid_candidates as (
    select
        mature_periods.as_of,
        row_number() over (order by mature_periods.as_of desc) as periods_from_end
    from mature_periods
    cross join test_bound
    where mature_periods.as_of <= {{ dbt.dateadd('day', -embargo_days, 'test_bound.test_start') }}
),

bounds as (
    select
        test_bound.test_start,
        min(valid_candidates.as_of) as valid_start,
        max(valid_candidates.as_of) as valid_end
    from test_bound
    left join valid_candidates on valid_candidates.periods_from_end <= {{ valid_periods }}
    group by test_bound.test_start
)

select
    rows_in.*,
    case
        when not rows_in.{{ mature_col }} then 'score'
        when rows_in.{{ as_of_col }} >= bounds.test_start then 'test'
        when rows_in.{{ as_of_col }} between bounds.valid_start and bounds.valid_end then 'valid'
        when rows_in.{{ as_of_col }} <= {{ dbt.dateadd('day', -embargo_days, 'bounds.valid_start') }}
            then 'train'
        else 'embargo'
    end as split
from {{ relation }} as rows_in
cross join bounds
{%- endmacro %}
