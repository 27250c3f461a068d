{#- Left-join to each left row the latest right row whose `right_ts` is strictly before
    `left_ts` (for the same key): the state of an entity as it was at the cutoff. -#}
{% macro asof_left_join(right, alias, right_key, left_key, right_ts, left_ts) -%}
    {{ return(adapter.dispatch('asof_left_join', 'mlmodels')(
        right, alias, right_key, left_key, right_ts, left_ts)) }}
{%- endmacro %}

{#- Portable: each right row is in force from its `right_ts` until the next row of its key
    (lead), so exactly one row matches a left row, even when two rows share a timestamp (the one
    ordered last holds). Window functions and a range condition only: no correlated subquery. -#}
{% macro default__asof_left_join(right, alias, right_key, left_key, right_ts, left_ts) -%}
    left join (
        select
            in_force.*,
            lead(in_force.{{ right_ts }}) over (
                partition by in_force.{{ right_key }} order by in_force.{{ right_ts }}
            ) as mlmodels_next_{{ right_ts }}
        from {{ right }} as in_force
    ) as {{ alias }}
        on {{ alias }}.{{ right_key }} = {{ left_key }}
        and {{ alias }}.{{ right_ts }} < {{ left_ts }}
        and ({{ alias }}.mlmodels_next_{{ right_ts }} is null
             or {{ alias }}.mlmodels_next_{{ right_ts }} >= {{ left_ts }})
{%- endmacro %}

{#- DuckDB's ASOF join does the same in one sorted pass instead of a correlated subquery:
    https://duckdb.org/docs/stable/sql/query_syntax/from#as-of-joins -#}
{% macro duckdb__asof_left_join(right, alias, right_key, left_key, right_ts, left_ts) -%}
    asof left join {{ right }} as {{ alias }}
        on {{ alias }}.{{ right_key }} = {{ left_key }}
        and {{ alias }}.{{ right_ts }} < {{ left_ts }}
{%- endmacro %}
